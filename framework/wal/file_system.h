// The one file-system interface every WAL and snapshot file goes through, so tests can inject
// failures (fail the next write, sync or rename; drop what was not synced) — see
// fault_injection_file_system.h.
//
// Errors are Status::IOError naming the path and the system's reason. A failed sync is final for
// the file: its dirty pages may already be gone, and a second sync could succeed without them, so
// nobody retries it.
//
// Thread safety: a FileSystem may be used from any thread. A WritableFile takes one append at a
// time, but sync() and offset() may run beside an append (the WAL syncs what it wrote while the
// next writes go on); a sync makes durable at least what was appended before it began.
#ifndef KEEL_WAL_FILE_SYSTEM_H_
#define KEEL_WAL_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel::wal {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes `data` at the current offset, which then moves past it.
  virtual Status append(std::string_view data) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual Status sync() = 0;
  // The offset the next append writes at.
  virtual uint64_t offset() const = 0;
  virtual Status close() = 0;
};

class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to `n` bytes into `buf`; 0 only at the end of the file.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // Creates `path` (which must not exist), zero-filled to `preallocate` bytes (0: empty), with the
  // write offset at 0.
  virtual Result<std::unique_ptr<WritableFile>> create(const std::string& path, uint64_t preallocate) = 0;
  // Opens an existing file for writing at `offset` (bytes after it are left as they are).
  virtual Result<std::unique_ptr<WritableFile>> reopen(const std::string& path, uint64_t offset) = 0;
  virtual Result<std::string> read_file(const std::string& path) = 0;
  virtual Result<std::unique_ptr<SequentialFile>> open_sequential(const std::string& path) = 0;
  // File names (not paths) in `dir`, sorted.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  virtual Status truncate(const std::string& path, uint64_t size) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status sync_dir(const std::string& dir) = 0;
  // Creates `dir` and its parents with mode 0700 if missing, each made durable in its parent.
  virtual Status create_dirs(const std::string& dir) = 0;
  virtual bool exists(const std::string& path) = 0;
};

// The real one (POSIX calls).
FileSystem& posix_file_system();

}  // namespace keel::wal

#endif  // KEEL_WAL_FILE_SYSTEM_H_
