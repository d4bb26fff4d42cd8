#include "wal/fault_injection_file_system.h"

#include <random>

namespace keel::wal {
namespace {

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

class FaultInjectionWritableFile : public WritableFile {
 public:
  FaultInjectionWritableFile(FaultInjectionFileSystem& fs, std::string path,
                             std::shared_ptr<FaultInjectionFileSystem::FileState> state,
                             std::unique_ptr<WritableFile> base)
      : fs_(fs), path_(std::move(path)), state_(std::move(state)), base_(std::move(base)) {}

  Status append(std::string_view data) override {
    KEEL_RETURN_IF_ERROR(fs_.take_write_failure(path_));
    KEEL_RETURN_IF_ERROR(base_->append(data));
    fs_.wrote(*state_, base_->offset());
    return Status::OK();
  }
  Status sync() override {
    KEEL_RETURN_IF_ERROR(fs_.take_sync_failure(path_));
    // Only what was appended before the sync began is known durable after it.
    const uint64_t upto = base_->offset();
    KEEL_RETURN_IF_ERROR(base_->sync());
    fs_.synced(*state_, upto);
    return Status::OK();
  }
  uint64_t offset() const override { return base_->offset(); }
  Status close() override { return base_->close(); }

 private:
  FaultInjectionFileSystem& fs_;
  std::string path_;  // as opened, for messages
  std::shared_ptr<FaultInjectionFileSystem::FileState> state_;
  std::unique_ptr<WritableFile> base_;
};

Status FaultInjectionFileSystem::take_write_failure(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fail_write_) return Status::OK();
  fail_write_ = false;
  return Status::IOError("write " + path + ": injected failure");
}

Status FaultInjectionFileSystem::take_sync_failure(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!fail_sync_) return Status::OK();
  fail_sync_ = false;
  return Status::IOError("fdatasync " + path + ": injected failure");
}

void FaultInjectionFileSystem::wrote(FileState& f, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  f.written = std::max(f.written, end);
}

void FaultInjectionFileSystem::synced(FileState& f, uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  f.synced = std::max(f.synced, offset);
  f.durable_size = std::max(f.durable_size, f.synced);
  ++syncs_;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::create(const std::string& path,
                                                                        uint64_t preallocate) {
  Result<std::unique_ptr<WritableFile>> file = base_.create(path, preallocate);
  if (!file.ok()) return file;
  auto state = std::make_shared<FileState>(FileState{preallocate, 0, 0});
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Preallocation is metadata: a creation is made durable by syncing the file (fdatasync
    // covers the allocation) and its folder.
    files_[path] = state;
    undurable_names_.insert(path);
  }
  return std::unique_ptr<WritableFile>(new FaultInjectionWritableFile(*this, path, state, std::move(file).value()));
}

Result<std::unique_ptr<WritableFile>> FaultInjectionFileSystem::reopen(const std::string& path, uint64_t offset) {
  Result<std::unique_ptr<WritableFile>> file = base_.reopen(path, offset);
  if (!file.ok()) return file;
  std::shared_ptr<FileState> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(path);
    if (it == files_.end()) {
      // First seen now: what is on disk counts as durable.
      Result<std::string> content = base_.read_file(path);
      uint64_t size = content.ok() ? content->size() : 0;
      it = files_.emplace(path, std::make_shared<FileState>(FileState{size, size, size})).first;
    }
    state = it->second;
  }
  return std::unique_ptr<WritableFile>(new FaultInjectionWritableFile(*this, path, state, std::move(file).value()));
}

Status FaultInjectionFileSystem::rename(const std::string& from, const std::string& to) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_rename_) {
      fail_rename_ = false;
      return Status::IOError("rename " + from + " to " + to + ": injected failure");
    }
  }
  KEEL_RETURN_IF_ERROR(base_.rename(from, to));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(it);
  }
  undurable_names_.erase(from);
  undurable_names_.insert(to);
  return Status::OK();
}

Status FaultInjectionFileSystem::remove(const std::string& path) {
  KEEL_RETURN_IF_ERROR(base_.remove(path));
  std::lock_guard<std::mutex> lock(mu_);
  files_.erase(path);
  undurable_names_.erase(path);
  return Status::OK();
}

Status FaultInjectionFileSystem::truncate(const std::string& path, uint64_t size) {
  KEEL_RETURN_IF_ERROR(base_.truncate(path, size));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(path);
  if (it != files_.end()) {
    // A truncation is durable once the file is synced; model it as durable at once, since the
    // WAL syncs right after every truncation it makes.
    FileState& f = *it->second;
    f.durable_size = size;
    f.synced = std::min(f.synced, size);
    f.written = std::min(f.written, size);
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::sync_dir(const std::string& dir) {
  KEEL_RETURN_IF_ERROR(base_.sync_dir(dir));
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = undurable_names_.begin(); it != undurable_names_.end();) {
    it = dir_of(*it) == dir ? undurable_names_.erase(it) : std::next(it);
  }
  return Status::OK();
}

Status FaultInjectionFileSystem::drop_unsynced_data(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& path : undurable_names_) {
    if (base_.exists(path)) KEEL_RETURN_IF_ERROR(base_.remove(path));
    files_.erase(path);
  }
  undurable_names_.clear();
  for (auto& [path, state] : files_) {
    FileState& f = *state;
    if (f.written > f.synced) {
      uint64_t zero_end = std::min(f.written, f.durable_size);
      // Lost sectors read as zeros again (the preallocated content); kept ones stay.
      for (uint64_t at = f.synced; at < zero_end;) {
        uint64_t sector_end = std::min(zero_end, (at / 512 + 1) * 512);
        if (seed == 0 || rng() % 2 == 0) {
          Result<std::unique_ptr<WritableFile>> w = base_.reopen(path, at);
          if (!w.ok()) return w.status();
          KEEL_RETURN_IF_ERROR((*w)->append(std::string(sector_end - at, '\0')));
          KEEL_RETURN_IF_ERROR((*w)->close());
        }
        at = sector_end;
      }
      if (f.written > f.durable_size) KEEL_RETURN_IF_ERROR(base_.truncate(path, f.durable_size));
    }
    f.written = f.synced;
  }
  return Status::OK();
}

}  // namespace keel::wal
