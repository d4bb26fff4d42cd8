// The Raft log as the state machine sees it: the durable part read through Storage, followed by
// the unstable part (entries and possibly a snapshot that the driver has not yet persisted).
//
//   storage:  [snapshot][first_index ... stable entries ...]
//   unstable:                            [offset ... entries not yet persisted ...]
//
// The unstable part may overwrite a suffix of the storage's entries (a follower truncating a
// conflicting tail); readers see the unstable entries from `offset` on.
//
// Thread safety: none — single-threaded by contract.
#ifndef KEEL_RAFT_LOG_H_
#define KEEL_RAFT_LOG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "keel/status.h"
#include "raft/messages.h"
#include "raft/storage.h"

namespace keel::raft {

// The not-yet-persisted tail of the log.
class Unstable {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  // The first index, if there is a pending snapshot.
  std::optional<uint64_t> maybe_first_index() const;
  // The last index, if there are entries or a pending snapshot.
  std::optional<uint64_t> maybe_last_index() const;
  // The term of entry i, if this part knows it.
  std::optional<uint64_t> maybe_term(uint64_t i) const;

  // The driver persisted entries up to (i, t): drop them from here. Ignored if entry i has since
  // been replaced by one of another term (the persisted copy is stale).
  void stable_to(uint64_t i, uint64_t t);
  void stable_snap_to(uint64_t i);
  void restore(const Snapshot& snap);
  // REQUIRES: ents non-empty, contiguous, ents[0].index <= last index + 1.
  void truncate_and_append(const std::vector<Entry>& ents);
  // Entries [lo, hi). REQUIRES: offset <= lo <= hi <= offset + size.
  std::vector<Entry> slice(uint64_t lo, uint64_t hi) const;

  uint64_t offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  uint64_t offset_;  // index of entries_[0]
};

class RaftLog {
 public:
  // REQUIRES: storage outlives the log. Aborts if the storage cannot be read.
  explicit RaftLog(const Storage* storage);

  uint64_t first_index() const;
  uint64_t last_index() const;
  uint64_t last_term() const;
  // Errors: ErrCompacted() (i < first_index()-1), ErrUnavailable() (i > last_index()).
  Result<uint64_t> term(uint64_t i) const;
  // term(i), or 0 when unknown.
  uint64_t zero_term_on_err(uint64_t i) const;
  bool match_term(uint64_t i, uint64_t t) const;

  // The follower's AppendEntries (Figure 2): if the entry before `ents` matches (index,
  // log_term), append what is new, truncating a conflicting suffix, and commit up to
  // min(leader_commit, last new index). Returns the last new index, or nullopt on mismatch.
  std::optional<uint64_t> maybe_append(uint64_t index, uint64_t log_term, uint64_t leader_commit,
                                       const std::vector<Entry>& ents);
  // Appends; returns the new last index. REQUIRES: ents[0].index > committed.
  uint64_t append(const std::vector<Entry>& ents);
  // The index of the first entry of `ents` whose term differs from the log's (or that the log
  // lacks); 0 if all match.
  uint64_t find_conflict(const std::vector<Entry>& ents) const;
  // Fast backtracking (dissertation §5.3 / etcd's findConflictByTerm): the largest index <= index
  // whose term is <= term, with that term. Entries after it cannot match a log whose entry at
  // `index` has term `term`.
  std::pair<uint64_t, uint64_t> find_conflict_by_term(uint64_t index, uint64_t term) const;

  // §5.4.1: a candidate's log (last index lasti, last term t) is at least as up to date as ours.
  bool is_up_to_date(uint64_t lasti, uint64_t t) const;

  // Commits up to max_index if that entry has term `t` (§5.4.2: a leader commits by counting
  // replicas only entries of its own term).
  bool maybe_commit(uint64_t max_index, uint64_t t);
  void commit_to(uint64_t i);
  void applied_to(uint64_t i);

  // Entries from i on (capped at max_bytes). Errors: ErrCompacted().
  Result<std::vector<Entry>> entries(uint64_t i, uint64_t max_bytes) const;
  // Entries [lo, hi), capped at max_bytes (at least one). Errors: ErrCompacted().
  Result<std::vector<Entry>> slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;
  // Every entry: for tests and invariant checks.
  std::vector<Entry> all_entries() const;

  bool has_next_committed_entries() const;
  // The committed entries not yet handed to the application, capped at max_bytes.
  std::vector<Entry> next_committed_entries(uint64_t max_bytes) const;

  // The last index that is durable and part of this log (storage entries that the unstable part
  // overrides do not count; nothing counts while a snapshot is pending).
  uint64_t persisted_index() const;

  const std::vector<Entry>& unstable_entries() const { return unstable_.entries(); }
  bool has_pending_snapshot() const { return unstable_.snapshot().has_value(); }
  // The pending snapshot if any, else the storage's. Errors: as Storage::snapshot().
  Result<Snapshot> snapshot() const;

  void restore(const Snapshot& snap);
  void stable_to(uint64_t i, uint64_t t) { unstable_.stable_to(i, t); }
  void stable_snap_to(uint64_t i) { unstable_.stable_snap_to(i); }
  // After the driver applied a snapshot: everything up to its index counts as applied.
  void applied_snapshot(uint64_t i);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  const Storage* storage() const { return storage_; }

 private:
  Status must_check_out_of_bounds(uint64_t lo, uint64_t hi) const;

  const Storage* storage_;
  Unstable unstable_;
  uint64_t committed_ = 0;  // highest index known committed
  uint64_t applied_ = 0;    // highest index handed to the application and confirmed by advance()
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_LOG_H_
