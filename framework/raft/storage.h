// Storage: the durable log as Raft reads it. The WAL implements it for real; MemoryStorage
// (memory_storage.h) is the reference implementation the tests use.
//
// Raft only reads through this interface. The driver writes to the storage what each Ready asks
// it to persist (entries, hard state, snapshot) before calling RawNode::advance().
//
// Ranges are half-open [lo, hi). Index 0 is never an entry; the storage's "dummy" entry is the
// last index covered by its snapshot (index 0, term 0 before any snapshot).
//
// Failure policy: if a Storage method returns an error other than the ones it is documented to
// return, the Raft instance stops (the process aborts): Raft cannot continue without its log.
//
// Thread safety: Raft calls it from the one thread that drives the RawNode. An implementation
// that is also written from another thread (a WAL thread) must synchronize itself.
#ifndef KEEL_RAFT_STORAGE_H_
#define KEEL_RAFT_STORAGE_H_

#include <cstdint>
#include <vector>

#include "keel/status.h"
#include "raft/messages.h"

namespace keel::raft {

struct InitialState {
  HardState hard_state;
  ConfState conf_state;
};

class Storage {
 public:
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual ~Storage() = default;

  // The persisted hard state and the membership of the newest snapshot.
  virtual Result<InitialState> initial_state() const = 0;

  // Entries [lo, hi), cut to the longest prefix whose total EntrySize() is at most max_bytes
  // (always at least one entry when lo < hi).
  // Errors: ErrCompacted() if lo <= the snapshot index; ErrUnavailable() if hi > last_index()+1.
  virtual Result<std::vector<Entry>> entries(uint64_t lo, uint64_t hi,
                                             uint64_t max_bytes) const = 0;

  // The term of entry i, for first_index()-1 <= i <= last_index() (the snapshot's index answers
  // with the snapshot's term). Errors: ErrCompacted(), ErrUnavailable().
  virtual Result<uint64_t> term(uint64_t i) const = 0;

  // The index of the last entry (the snapshot's index when the log is empty).
  virtual Result<uint64_t> last_index() const = 0;

  // The index of the first entry still held (snapshot index + 1).
  virtual Result<uint64_t> first_index() const = 0;

  // The newest snapshot. Errors: ErrSnapshotTemporarilyUnavailable() when one is being built.
  virtual Result<Snapshot> snapshot() const = 0;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_STORAGE_H_
