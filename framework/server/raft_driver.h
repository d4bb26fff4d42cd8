// RaftDriver: one member's Raft (raft::RawNode) over its WAL (wal::WalStorage), turning each of
// Raft's Readys into durable state and output in the order Raft's safety needs:
//
//   1. the leader or the role changed: said first;
//   2. a leader's snapshot: its file written and the log replaced by it (the Backend it names was
//      received before Raft saw it), then handed out to be applied before what follows;
//   3. a leader whose Ready keeps its term and vote sends its appends, heartbeats, snapshots and
//      TimeoutNow before its own WAL write and sync, so the followers' syncs run beside its own
//      (the dissertation's 10.2.1): their answers are stepped only after this sync has returned,
//      so nothing commits on an entry not yet durable here;
//   4. the hard state and the entries written, and synced when Raft says they must be;
//   5. every other message leaves only now (a follower's answers promise durability, a vote
//      needs the term and vote it was cast in on disk);
//   6. the answered ReadIndex rounds; each committed configuration change applied to Raft (the
//      membership changes here, on this thread, before the next Ready) and said; then the
//      committed entries to apply, conf changes among them; then Raft goes on.
//
// The membership as of any index since the log's snapshot is kept, so a local snapshot records
// the membership of its own index even when later changes were applied already; on open, the
// changes between the log's snapshot and the applied index (which Raft does not hand out again)
// are applied to Raft once more.
//
// It also takes the member's local snapshots (snapshot_at): a snapshot file at an applied index,
// recorded in the WAL, the log compacted behind it but for the entries a lagging follower still
// catches up by.
//
// Everything else Raft is asked (step, propose, tick, read_index, ...) goes to raft() directly.
// A failed WAL write or sync is returned, never retried: the caller stops the member.
//
// Thread safety: one thread at a time (the member's Raft thread, or a test stepping it).
#ifndef KEEL_SERVER_RAFT_DRIVER_H_
#define KEEL_SERVER_RAFT_DRIVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/logger.h"
#include "keel/status.h"
#include "metrics/metrics.h"
#include "raft/raw_node.h"
#include "wal/wal_storage.h"

namespace keel::server {

struct RaftDriverOptions {
  bool unsafe_no_fsync = false;         // as the WAL was opened (no sync is timed then)
  std::string backend_name;             // recorded in snapshot files
  uint64_t snapshot_catchup_entries = 5000;  // entries kept behind a local snapshot
  size_t max_wals = 5;                  // WAL segments kept (0: all)
  size_t max_snapshots = 5;             // snapshot files kept (0: all)
  Logger* logger = nullptr;             // not owned
  metrics::Histogram* wal_fsync = nullptr;  // not owned; each synced write's duration
};

// What a Ready hands out, in the order handle_ready() calls it (see above).
class RaftOutput {
 public:
  virtual ~RaftOutput() = default;
  virtual void on_soft_state(const raft::SoftState& state) = 0;
  // Messages for the peers; a member alone may drop them.
  virtual void send(std::vector<raft::Message>& messages) = 0;
  // The hard state now durable (when the Ready changed it).
  virtual void on_hard_state(const raft::HardState& state) = 0;
  virtual void on_read_states(const std::vector<raft::ReadState>& states) = 0;
  // A committed configuration change at `index`, now applied to Raft: `membership` is the new
  // one. A change Raft refused (it would remove every voter) comes with node_id kNone and
  // leaves the membership as it was.
  virtual void on_conf_change(uint64_t index, const raft::ConfChange& change,
                              const raft::ConfState& membership) = 0;
  // A leader's snapshot, now the start of the log: the state machine becomes the Backend
  // received for it, before the entries that follow are applied.
  virtual void apply_snapshot(raft::Snapshot snapshot) = 0;
  virtual void apply_entries(std::vector<raft::Entry> entries) = 0;
};

class RaftDriver {
 public:
  // Raft over `storage` (which outlives the driver) with `config` (its storage is set here).
  static Result<std::unique_ptr<RaftDriver>> open(wal::WalStorage& storage, raft::Config config,
                                                  RaftDriverOptions options);

  raft::RawNode& raft() { return *raft_; }
  // The leader Raft knows (raft::kNone when none).
  uint64_t lead() const { return raft_->raft().lead(); }
  // The membership after the last configuration change applied.
  const raft::ConfState& conf_state() const { return conf_state_; }
  // The index of the last configuration change applied to Raft since the log's snapshot (0: none).
  uint64_t last_conf_change_index() const {
    return conf_history_.empty() ? 0 : conf_history_.rbegin()->first;
  }
  // The membership as of `index` (at or after the log's snapshot).
  const raft::ConfState& conf_state_at(uint64_t index) const;

  // Takes one Ready, if Raft has one, through the steps above; the WAL's error if a write, a sync
  // or a snapshot's recording failed (nothing after it was handed out).
  Status handle_ready(RaftOutput& out);

  // A local snapshot at `index` (applied, and committed to the Backend): OK without one when the
  // log was compacted past `index` already.
  Status snapshot_at(uint64_t index);

 private:
  RaftDriver(wal::WalStorage& storage, RaftDriverOptions options)
      : storage_(storage), options_(std::move(options)) {}

  // Applies the committed conf change entry `e` to Raft and records the membership after it.
  Result<raft::ConfState> apply_conf_change(const raft::Entry& e, raft::ConfChange* change);
  // The log now starts with a snapshot of `membership` at `index`: older history goes.
  void rebase(uint64_t index, const raft::ConfState& membership);

  wal::WalStorage& storage_;
  const RaftDriverOptions options_;
  std::unique_ptr<raft::RawNode> raft_;
  raft::ConfState conf_state_;
  raft::ConfState base_conf_state_;                  // as of the log's snapshot
  std::map<uint64_t, raft::ConfState> conf_history_;  // by index, after the snapshot
};

}  // namespace keel::server

#endif  // KEEL_SERVER_RAFT_DRIVER_H_
