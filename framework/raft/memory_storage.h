// MemoryStorage: Storage held in memory. The reference implementation of storage.h, used by the
// tests and the simulator; also the model the WAL's Storage must behave like.
//
// Thread safety: none — single-threaded by contract (tests and the simulator drive everything
// from one thread).
#ifndef KEEL_RAFT_MEMORY_STORAGE_H_
#define KEEL_RAFT_MEMORY_STORAGE_H_

#include <string>
#include <vector>

#include "raft/storage.h"

namespace keel::raft {

class MemoryStorage final : public Storage {
 public:
  MemoryStorage();

  // Makes this the storage of a founding member of a new cluster whose members are `cs`:
  // a snapshot at index 1, term 1 holding the membership (and the application's empty state
  // `data`), and hard state {term 1, no vote, commit 1}. A member that joins later starts
  // with an empty MemoryStorage and learns everything from the leader.
  // REQUIRES: nothing was written yet.
  Status Bootstrap(const ConfState& cs, std::string data = {});

  Result<InitialState> initial_state() const override;
  Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  Result<uint64_t> term(uint64_t i) const override;
  Result<uint64_t> last_index() const override;
  Result<uint64_t> first_index() const override;
  Result<Snapshot> snapshot() const override;

  // The writes a driver makes for each Ready.
  void set_hard_state(const HardState& hs) { hard_state_ = hs; }
  const HardState& hard_state() const { return hard_state_; }

  // Replaces everything with `snap`. Errors: ErrSnapOutOfDate() if older than the current one.
  Status apply_snapshot(const Snapshot& snap);

  // Appends `ents`, replacing any entries from ents[0].index on. Entries already compacted are
  // skipped. REQUIRES: ents are contiguous; ents[0].index <= last_index()+1.
  Status append(const std::vector<Entry>& ents);

  // Builds a snapshot at `i` (REQUIRES: i is an entry held; applied by the caller's state
  // machine) with the given membership and state. Errors: ErrSnapOutOfDate().
  Result<Snapshot> create_snapshot(uint64_t i, const ConfState& cs, std::string data);

  // Discards the entries before `compact_index` (keeping its term as the new dummy entry).
  // Errors: ErrCompacted() if already compacted; InvalidArgument past the last entry.
  Status compact(uint64_t compact_index);

 private:
  uint64_t first() const { return ents_.front().index + 1; }
  uint64_t last() const { return ents_.front().index + ents_.size() - 1; }

  HardState hard_state_;
  Snapshot snapshot_;
  // ents_[0] is the dummy entry: the index and term of the snapshot; entries follow it.
  std::vector<Entry> ents_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_MEMORY_STORAGE_H_
