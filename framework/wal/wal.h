// framework/wal: makes durable what Raft's Ready says must be, and gives it back after a crash.
//
// The log is a folder of segment files named <seq>-<first index>.wal (16 hex digits each),
// preallocated (64 MiB by default) and filled with framed records (record.h; the format is in
// docs/format/wal.md). Every segment begins with the member's metadata, the newest snapshot marker
// and hard state, so older segments can be purged without losing them.
//
// Durability: save() returns only once its records are on disk (unless the WAL was opened with
// unsafe_no_fsync, for tests and benchmarks). Saves that arrive while a sync runs share the next
// one (group commit). A failed write or sync fails that save and every later one: the member must
// stop, and a failed fsync is never retried (its dirty pages may be gone).
//
// Recovery: open() reads every segment and checks every checksum. A torn tail — a last record cut
// short by a crash mid-write — is cut off, and the log says so. Any other damaged record is
// corruption: open() refuses, naming the file, the offset and the record. Nothing acknowledged is
// ever dropped silently.
//
// Thread safety: save(), sync(), save_snapshot_marker() and purge() may be called from any thread,
// but the caller orders the saves (Raft's entries must reach the log in index order): one thread,
// the Raft loop, saves; any thread may wait in sync().
#ifndef KEEL_WAL_WAL_H_
#define KEEL_WAL_WAL_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/logger.h"
#include "keel/status.h"
#include "raft/messages.h"
#include "wal/file_system.h"
#include "wal/record.h"

namespace keel::wal {

struct WalOptions {
  uint64_t segment_bytes = 64ull << 20;
  bool unsafe_no_fsync = false;  // etcd's --unsafe-no-fsync: acknowledges before data is durable
  Logger* logger = nullptr;      // not owned; may be null
  std::string wal_dir;           // WalStorage: the segments' folder (etcd's --wal-dir); empty: <dir>/wal
};

// What open() found.
struct WalContents {
  WalMetadata metadata;
  raft::HardState hard_state;
  SnapshotMarker snapshot;            // the newest marker (index 0: none)
  std::vector<raft::Entry> entries;   // the entries after snapshot.index, in order
  bool torn_tail_cut = false;         // a torn last record was cut off
};

class Wal {
 public:
  // Creates a new log in `dir` (created 0700 if missing). FailedPrecondition if it holds one.
  static Result<std::unique_ptr<Wal>> create(FileSystem& fs, const std::string& dir,
                                             const WalMetadata& metadata, const WalOptions& options);
  // Opens the log in `dir` for appending after what it holds, which is read into *contents.
  // NotFound if `dir` holds no log; Corruption as described above.
  static Result<std::unique_ptr<Wal>> open(FileSystem& fs, const std::string& dir,
                                           const WalOptions& options, WalContents* contents);
  // Whether `dir` holds a log (false if `dir` does not exist; an error if it cannot be read).
  static Result<bool> exists(FileSystem& fs, const std::string& dir);

  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Appends `entries` (which may overwrite the log's tail from entries.front().index on, as Raft
  // asks) and then `hard_state` unless it is empty. With `sync`, returns once both are durable.
  // An entry over the record limit (64 MiB) is refused with InvalidArgument before anything is
  // written; the log goes on.
  Status save(const raft::HardState& hard_state, const std::vector<raft::Entry>& entries, bool sync);
  // Returns once everything saved so far is durable.
  Status sync();
  // Records that a snapshot at (index, term) is saved; synced.
  Status save_snapshot_marker(const SnapshotMarker& marker);
  // Removes the oldest segments while more than `keep` remain and every entry in them is at or
  // below `snapshot_index` (etcd's --max-wals; 0 keeps them all). The segment being written is
  // never removed.
  Status purge(uint64_t snapshot_index, size_t keep);
  // The first error that stopped the log, or OK.
  Status failure() const;
  // Segment file names, oldest first.
  std::vector<std::string> segment_names() const;
  Status close();

 private:
  struct Segment {
    uint64_t seq;
    uint64_t first_index;
    std::string name;
  };
  Wal(FileSystem& fs, std::string dir, WalOptions options, WalMetadata metadata);

  static std::string segment_name(uint64_t seq, uint64_t first_index);
  static Status remove_temp_segments(FileSystem& fs, const std::string& dir);
  // REQUIRES: mu_ held, no sync in progress.
  Status start_segment(uint64_t seq, uint64_t first_index, std::unique_lock<std::mutex>& lock);
  Status cut(std::unique_lock<std::mutex>& lock);
  Status write(const std::string& records, std::unique_lock<std::mutex>& lock, uint64_t* seq);
  Status wait_durable(uint64_t seq, std::unique_lock<std::mutex>& lock);
  Status fail(Status s);

  FileSystem& fs_;
  const std::string dir_;
  const WalOptions options_;
  const WalMetadata metadata_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<WritableFile> file_;  // the segment being written
  std::vector<Segment> segments_;
  raft::HardState hard_state_;          // the newest written, for the next segment's head
  SnapshotMarker snapshot_;
  uint64_t last_index_ = 0;             // of the newest entry written
  uint64_t written_seq_ = 0;            // rises with every write
  uint64_t synced_seq_ = 0;             // writes up to here are durable
  bool syncing_ = false;
  Status failure_;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_WAL_H_
