// WalStorage: the member's durable Raft log. It keeps the WAL and snapshot files on disk and the
// recent tail of the log in memory, and serves Raft's reads (raft::Storage) from memory.
//
// Folder layout (etcd's): <dir>/wal/ the segments, <dir>/snap/ the snapshot files.
//
// The driver calls, per Ready: save_snapshot (if the Ready has one; its state-machine data was
// written with write_snapshot_file first), then persist(hard state, entries) — which returns
// once they are durable — before it sends the Ready's messages; then RawNode::advance().
//
// Thread safety: one thread (the Raft loop) calls everything, the raft::Storage reads included.
#ifndef KEEL_WAL_WAL_STORAGE_H_
#define KEEL_WAL_WAL_STORAGE_H_

#include <memory>
#include <optional>
#include <string>

#include "keel/logger.h"
#include "raft/memory_storage.h"
#include "raft/storage.h"
#include "wal/file_system.h"
#include "wal/snapshot_file.h"
#include "wal/wal.h"

namespace keel::wal {

class WalStorage : public raft::Storage {
 public:
  // Opens the log in `dir`, or creates it with `metadata` if `dir` holds none. On open, the
  // metadata in the log must equal `metadata` for the ids that are set (non-zero):
  // FailedPrecondition otherwise (another member's or another cluster's data).
  static Result<std::unique_ptr<WalStorage>> open(FileSystem& fs, const std::string& dir,
                                                  const WalMetadata& metadata, const WalOptions& options);
  // Whether open() with the same `dir` and `options` would find a log (a segment) rather than
  // create one. Creates nothing.
  static Result<bool> exists(FileSystem& fs, const std::string& dir, const WalOptions& options);

  // raft::Storage, answered from memory.
  Result<raft::InitialState> initial_state() const override { return memory_.initial_state(); }
  Result<std::vector<raft::Entry>> entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override {
    return memory_.entries(lo, hi, max_bytes);
  }
  Result<uint64_t> term(uint64_t i) const override { return memory_.term(i); }
  Result<uint64_t> last_index() const override { return memory_.last_index(); }
  Result<uint64_t> first_index() const override { return memory_.first_index(); }
  Result<raft::Snapshot> snapshot() const override { return memory_.snapshot(); }

  // True when open() created the log rather than finding one.
  bool created() const { return created_; }
  // True until a cluster's first state is in the log (bootstrap() or a snapshot from the
  // leader): also after a crash between open() and the end of bootstrap(), which created()
  // alone would miss.
  bool needs_bootstrap() const;
  const WalMetadata& metadata() const { return metadata_; }
  // The snapshot file the member restores its state machine from at start-up, if any.
  const std::optional<SnapshotFileInfo>& recovered_snapshot() const { return recovered_snapshot_; }
  bool torn_tail_cut() const { return torn_tail_cut_; }
  // Whether the newest snapshot is a leader's (save_snapshot), which replaced the log, rather than
  // one of the member's own.
  bool snapshot_from_leader() const { return snapshot_from_leader_; }
  const std::string& snap_dir() const { return snap_dir_; }

  // Starts a new cluster's log, as raft::MemoryStorage::Bootstrap does, durably: a snapshot at
  // index 1, term 1 holding the initial membership, and hard state {term 1, commit 1}.
  // REQUIRES: needs_bootstrap().
  Status bootstrap(const raft::ConfState& conf_state);
  // Makes `entries` and `hard_state` durable (with `sync`, as Raft's Ready::must_sync says),
  // then visible to Raft's reads.
  Status persist(const raft::HardState& hard_state, const std::vector<raft::Entry>& entries, bool sync);
  // A snapshot from the leader (a Ready's snapshot), whose file is already written: marks it in
  // the WAL and replaces the in-memory log with it.
  Status save_snapshot(const raft::Snapshot& snapshot);
  // A snapshot this member made of its own state machine at `metadata.index` (file already
  // written): marks it in the WAL; the log before it stays until compact().
  Status record_local_snapshot(const raft::SnapshotMetadata& metadata, std::string data);
  // Drops in-memory entries up to `index` (at or below the newest snapshot), and purges WAL
  // segments and snapshot files beyond `max_wals` and `max_snapshots` (0 keeps all).
  Status compact(uint64_t index, size_t max_wals, size_t max_snapshots);

 private:
  WalStorage() = default;

  FileSystem* fs_ = nullptr;
  std::string wal_dir_;
  std::string snap_dir_;
  std::unique_ptr<Wal> wal_;
  raft::MemoryStorage memory_;
  WalMetadata metadata_;
  std::optional<SnapshotFileInfo> recovered_snapshot_;
  bool created_ = false;
  bool torn_tail_cut_ = false;
  bool snapshot_from_leader_ = false;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_WAL_STORAGE_H_
