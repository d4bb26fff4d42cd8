// RawNode: the driver's handle on one member's Raft state machine.
//
// The driver (keel's server, a test, the simulator) owns all I/O and time. Its loop:
//
//   node.tick() every tick interval;  node.step(m) for every message received;
//   node.propose(...), read_index(...), ... for client requests;
//   if (node.has_ready()) {
//     Ready rd = node.ready();
//     1. persist rd.snapshot (if any), rd.entries and rd.hard_state (if any) to the Storage —
//        durably (fsync) when rd.must_sync;
//     2. send rd.messages — only after step 1, because they promise what step 1 writes (a vote,
//        an acknowledged entry). Exception (dissertation §10.2.1): when rd.leader_may_send_early,
//        the messages for which IsEarlySendable(type) may be sent while step 1 runs: a leader
//        counts its own copy of an entry only after advance(), and its term and vote are
//        already durable;
//        if a message is a kSnap, report the outcome with report_snapshot();
//     3. apply rd.snapshot (if any) to the state machine, then rd.committed_entries, in order —
//        only after step 1 (they may include entries persisted in step 1). A kConfChange entry
//        is applied by decoding it and calling apply_conf_change();
//     4. answer rd.read_states once the state machine has applied up to their index;
//     5. node.advance().
//   }
//
// Between ready() and advance() the driver may keep calling tick/step/propose; it must not call
// ready() again until it called advance().
//
// Starting: a founding member's Storage holds the bootstrap snapshot (index 1, term 1, the
// initial membership; see MemoryStorage::Bootstrap) and hard state {1, none, 1}. A member added
// later starts with an empty Storage and gets the log (or a snapshot) from the leader once its
// addition is applied there. On restart, Config::applied is the index the state machine already
// reflects (usually its snapshot's); committed entries after it are handed out again.
//
// Thread safety: none — single-threaded by contract. One thread drives a RawNode.
#ifndef KEEL_RAFT_RAW_NODE_H_
#define KEEL_RAFT_RAW_NODE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/status.h"
#include "raft/messages.h"
#include "raft/raft_core.h"

namespace keel::raft {

// One batch of work for the driver. See RawNode for the duties and their order.
struct Ready {
  // The volatile state, if it changed since the last Ready.
  std::optional<SoftState> soft_state;
  // The state to persist, if it changed since the last Ready.
  std::optional<HardState> hard_state;
  // Entries to append to the Storage (they may replace a suffix of it).
  std::vector<Entry> entries;
  // A snapshot to persist and apply (empty() when none).
  Snapshot snapshot;
  // Committed entries to apply, in order.
  std::vector<Entry> committed_entries;
  // Messages to send, each to its `to`.
  std::vector<Message> messages;
  // Reads now answerable (after applying up to their index).
  std::vector<ReadState> read_states;
  // True iff hard state or entries must be fsynced before messages go out.
  bool must_sync = false;
  // True iff this member leads and this Ready changes neither term nor vote: messages of an
  // IsEarlySendable() type may then go out before the write completes (§10.2.1).
  bool leader_may_send_early = false;
};

// kApp, kHeartbeat, kSnap and kTimeoutNow: what a leader may send before its write completes.
inline bool IsEarlySendable(MessageType t) {
  return t == MessageType::kApp || t == MessageType::kHeartbeat || t == MessageType::kSnap ||
         t == MessageType::kTimeoutNow;
}

enum class SnapshotStatus : uint8_t { kFinish = 0, kFailure = 1 };

// What a member looks like now: for tests, diagnostics and the server's status endpoints.
struct RaftStatus {
  NodeId id = kNone;
  HardState hard_state;
  SoftState soft_state;
  uint64_t applied = 0;
  NodeId lead_transferee = kNone;
  ConfState conf_state;
  std::map<NodeId, Progress> progress;  // leader only
};

class RawNode {
 public:
  // Starts (or restarts) a member from what config.storage holds.
  // Errors: InvalidArgument (bad config), Corruption (inconsistent storage), or the storage's.
  static Result<std::unique_ptr<RawNode>> Create(const Config& config);
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  void tick() { raft_->tick(); }
  // Starts an election now (pre-vote first when configured). Ignored for learners.
  void campaign();
  // Proposes `data` for the log. Errors: ErrNoLeader(), ErrTransferInProgress(),
  // ErrProposalDropped() (removed, forwarding disabled, or over max_uncommitted_entries_size).
  // Success means "handed on", not "committed".
  Status propose(std::string data);
  // Proposes a configuration change. Errors: as propose(), plus ErrConfChangePending() when this
  // member leads and another change is not yet applied.
  Status propose_conf_change(const ConfChange& cc);
  // Applies a committed configuration change (the driver calls this for each kConfChange entry
  // it applies) and returns the new membership.
  Result<ConfState> apply_conf_change(const ConfChange& cc) { return raft_->apply_conf_change(cc); }
  // Feeds a message received from another member. Errors: ErrStepLocalMsg() for local types;
  // ErrStepPeerNotFound() for a response from an unknown member (on a leader);
  // InvalidArgument for a message without a term (other than a forwarded kProp, kReadIndex or
  // kTransferLeader).
  Status step(const Message& m);
  // Requests a linearizable read identified by `ctx`, which must be unique across the cluster
  // (e.g. the member id and a counter: the leader ignores a context it already queued). A
  // ReadState with this context appears in a later Ready of this member — or never, if
  // leadership changes first: the caller times out and retries. Errors: ErrNoLeader().
  Status read_index(std::string ctx);
  // Asks the leader to hand leadership to `transferee`.
  void transfer_leader(NodeId transferee);
  void report_unreachable(NodeId id);
  void report_snapshot(NodeId id, SnapshotStatus status);

  bool has_ready() const;
  // REQUIRES: the previous Ready was advanced.
  Ready ready();
  // The last Ready was handled (persisted, sent, applied).
  void advance();

  RaftStatus status() const;
  Raft& raft() { return *raft_; }
  const Raft& raft() const { return *raft_; }

 private:
  explicit RawNode(std::unique_ptr<Raft> raft);

  std::unique_ptr<Raft> raft_;
  uint64_t max_committed_size_per_ready_;
  SoftState prev_soft_;
  HardState prev_hard_;
  // What the outstanding Ready handed out, for advance().
  bool ready_outstanding_ = false;
  std::optional<std::pair<uint64_t, uint64_t>> ready_last_entry_;  // (index, term)
  uint64_t ready_snapshot_index_ = 0;
  uint64_t ready_last_committed_ = 0;
  uint64_t ready_committed_bytes_ = 0;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RAW_NODE_H_
