// FaultInjectionFileSystem: forwards every call to a real FileSystem, and lets a test fail the
// next write, sync or rename, or simulate a crash that loses whatever was not synced.
//
// A simulated crash (drop_unsynced_data) gives every file back only what its last successful
// sync made durable: bytes written after it become zeros again inside the file's preallocated
// size and are cut off beyond it; files created since their folder was last synced disappear.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_WAL_FAULT_INJECTION_FILE_SYSTEM_H_
#define KEEL_WAL_FAULT_INJECTION_FILE_SYSTEM_H_

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "wal/file_system.h"

namespace keel::wal {

class FaultInjectionFileSystem : public FileSystem {
 public:
  explicit FaultInjectionFileSystem(FileSystem& base) : base_(base) {}

  void fail_next_write() { fail_write_ = true; }
  void fail_next_sync() { fail_sync_ = true; }
  void fail_next_rename() { fail_rename_ = true; }
  // A crash: with seed 0 every unsynced byte is lost; with another seed, each unsynced 512-byte
  // sector is lost or kept at random (a disk writes a file's pages back in no promised order).
  Status drop_unsynced_data(uint64_t seed = 0);
  int syncs() const { return syncs_; }

  Result<std::unique_ptr<WritableFile>> create(const std::string& path, uint64_t preallocate) override;
  Result<std::unique_ptr<WritableFile>> reopen(const std::string& path, uint64_t offset) override;
  Result<std::string> read_file(const std::string& path) override { return base_.read_file(path); }
  Result<std::unique_ptr<SequentialFile>> open_sequential(const std::string& path) override {
    return base_.open_sequential(path);
  }
  Result<std::vector<std::string>> list(const std::string& dir) override { return base_.list(dir); }
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Status truncate(const std::string& path, uint64_t size) override;
  Status sync_dir(const std::string& dir) override;
  Status create_dirs(const std::string& dir) override { return base_.create_dirs(dir); }
  bool exists(const std::string& path) override { return base_.exists(path); }

 private:
  friend class FaultInjectionWritableFile;

 public:
  struct FileState {
    uint64_t durable_size = 0;  // the file's size as of the last sync (preallocation included)
    uint64_t synced = 0;        // bytes up to here are durable
    uint64_t written = 0;       // the highest offset written
  };

 private:

  Status take_write_failure(const std::string& path);
  Status take_sync_failure(const std::string& path);
  void wrote(FileState& state, uint64_t end);
  void synced(FileState& state, uint64_t offset);

  FileSystem& base_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;  // an open file keeps its state
  std::set<std::string> undurable_names_;  // created or renamed since their folder's last sync
  bool fail_write_ = false;
  bool fail_sync_ = false;
  bool fail_rename_ = false;
  int syncs_ = 0;
};

}  // namespace keel::wal

#endif  // KEEL_WAL_FAULT_INJECTION_FILE_SYSTEM_H_
