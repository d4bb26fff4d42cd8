#include "lmdb_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <new>
#include <set>

#include "keel/engine_marker.h"
#include "lmdb_read.h"
#include "lmdb_status.h"
#include "lmdb_write.h"

namespace keel::backend_lmdb {

namespace {

constexpr unsigned kEnvFlags = MDB_NOMETASYNC | MDB_NOTLS;
// How long growing the map or defragment waits for read transactions to end before giving up.
constexpr std::chrono::seconds kExclusiveWait(60);

Status closed_error() { return Status::FailedPrecondition("lmdb: the store is closed"); }

// No exception may leave the plugin (keel/status.h).
template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  return status_from_exceptions("lmdb", what, std::forward<F>(f));
}

}  // namespace

LmdbStore::LmdbStore(std::string dir, LmdbSettings settings, Logger& logger, int dir_fd)
    : dir_(std::move(dir)),
      settings_(settings),
      logger_(logger),
      dir_fd_(dir_fd),
      map_size_(settings.map_size) {}

LmdbStore::~LmdbStore() { close(); }

Result<std::unique_ptr<Backend>> LmdbStore::open(const BackendOptions& options,
                                                 const LmdbSettings& settings, Logger& logger) {
  return guarded("open", [&]() -> Result<std::unique_ptr<Backend>> {
    namespace fs = std::filesystem;
    const std::string& dir = options.dir;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
      if (!options.create_if_missing) return Status::NotFound("no store in " + dir);
      fs::create_directories(dir, ec);
      if (ec) return Status::IOError("create " + dir + ": " + ec.message());
    }
    auto fd = lock_data_dir(dir);  // one open store per data dir
    if (!fd.ok()) return fd.status();
    std::unique_ptr<LmdbStore> store(new LmdbStore(dir, settings, logger, *fd));

    auto fresh = is_fresh(dir, options.create_if_missing, kEngineName, kFormatVersion);
    if (!fresh.ok()) return fresh.status();
    if (!*fresh && !fs::exists(dir + "/" + kDataFile, ec)) {
      return Status::Corruption("data dir " + dir + " has an lmdb marker but no " + kDataFile);
    }
    if (*fresh) {
      KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, false}));
    }
    KEEL_RETURN_IF_ERROR(store->open_env());
    if (*fresh) {
      // Complete once LMDB's files are on disk: a complete marker always means a whole store.
      KEEL_RETURN_IF_ERROR(lmdb_status(mdb_env_sync(store->env_, 1), "sync new store"));
      KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, true}));
    }
    return std::unique_ptr<Backend>(std::move(store));
  });
}

Status LmdbStore::open_env() {
  MDB_env* env = nullptr;
  KEEL_RETURN_IF_ERROR(lmdb_status(mdb_env_create(&env), "create env"));
  auto fail = [&](int rc, const char* what) {
    mdb_env_close(env);
    return lmdb_status(rc, what).with_context(dir_);
  };
  if (int rc = mdb_env_set_maxdbs(env, settings_.max_dbs)) return fail(rc, "set max_dbs");
  if (int rc = mdb_env_set_maxreaders(env, settings_.max_readers)) return fail(rc, "set max_readers");
  if (int rc = mdb_env_set_mapsize(env, map_size_)) return fail(rc, "set map_size");
  if (int rc = mdb_env_open(env, dir_.c_str(), kEnvFlags, 0644)) return fail(rc, "open");
  if (mdb_env_get_maxkeysize(env) <= static_cast<int>(kMaxDirectKey)) {
    mdb_env_close(env);
    return Status::NotSupported("lmdb: this liblmdb's key size limit is below 511 bytes");
  }
  // LMDB may have raised the map to fit the file.
  MDB_envinfo info;
  mdb_env_info(env, &info);
  map_size_ = info.me_mapsize;

  // Open a handle for every bucket now, in one write transaction: LMDB wants handles opened by
  // one transaction at a time, and read transactions then only look them up.
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn)) return fail(rc, "begin");
  std::set<std::string> names;
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn, 1, &c);
  MDB_val k, v;
  if (rc == MDB_SUCCESS) {
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      names.emplace(from_val(k));
    }
    mdb_cursor_close(c);
  }
  std::map<std::string, MDB_dbi, std::less<>> dbis;
  if (rc == MDB_NOTFOUND) {
    rc = MDB_SUCCESS;
    for (const auto& name : names) {
      MDB_dbi dbi;
      if ((rc = mdb_dbi_open(txn, name.c_str(), 0, &dbi)) != MDB_SUCCESS) break;
      dbis.emplace(name, dbi);
    }
  }
  if (rc == MDB_SUCCESS) {
    rc = mdb_txn_commit(txn);
  } else {
    mdb_txn_abort(txn);
  }
  // A main-database entry that is no database is no bucket of ours: the file is not our store.
  if (rc == MDB_INCOMPATIBLE) rc = MDB_CORRUPTED;
  if (rc != MDB_SUCCESS) return fail(rc, "open buckets");
  env_ = env;
  std::lock_guard<std::mutex> lock(dbi_mu_);
  dbis_ = std::move(dbis);
  return Status::OK();
}

void LmdbStore::close_env() {
  drop_idle_readers();
  if (env_ != nullptr) mdb_env_close(env_);
  env_ = nullptr;
  std::lock_guard<std::mutex> lock(dbi_mu_);
  dbis_.clear();
}

Status LmdbStore::check_open() const { return closed_.load() ? closed_error() : Status::OK(); }

bool LmdbStore::find_dbi(std::string_view bucket, MDB_dbi* dbi) {
  std::lock_guard<std::mutex> lock(dbi_mu_);
  auto it = dbis_.find(bucket);
  if (it == dbis_.end()) return false;
  *dbi = it->second;
  return true;
}

Status LmdbStore::create_bucket(std::string_view bucket) {
  return guarded("create_bucket", [&]() -> Status {
    if (bucket.empty() || bucket.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument("lmdb: a bucket name must be non-empty and hold no NUL byte");
    }
    std::unique_lock<std::mutex> write(write_mu_);
    KEEL_RETURN_IF_ERROR(check_writable());
    MDB_dbi dbi;
    if (find_dbi(bucket, &dbi)) return Status::OK();
    std::string name(bucket);
    for (;;) {
      MDB_txn* txn = nullptr;
      KEEL_RETURN_IF_ERROR(lmdb_status(mdb_txn_begin(env_, nullptr, 0, &txn), "begin"));
      int rc;
      {
        // dbi_mu_ spans the commit so that no reader sees the bucket in a snapshot before its
        // handle is registered. Taken inside the write transaction, as commit does.
        std::lock_guard<std::mutex> lock(dbi_mu_);
        rc = mdb_dbi_open(txn, name.c_str(), MDB_CREATE, &dbi);
        if (rc == MDB_SUCCESS) {
          rc = mdb_txn_commit(txn);
        } else {
          mdb_txn_abort(txn);
        }
        if (rc == MDB_SUCCESS) dbis_.emplace(name, dbi);
      }
      if (rc == MDB_SUCCESS) break;
      if (rc != MDB_MAP_FULL) return note_failure(lmdb_status(rc, "create bucket " + name));
      KEEL_RETURN_IF_ERROR(grow_map(write));
    }
    return note_failure(lmdb_status(mdb_env_sync(env_, 1), "sync"));
  });
}

Result<std::unique_ptr<BackendReadTx>> LmdbStore::begin_read() {
  return guarded("begin_read", [&]() -> Result<std::unique_ptr<BackendReadTx>> {
    std::thread::id holder = gate_.lock_shared();
    if (closed_.load()) {
      gate_.unlock_shared(holder);
      return closed_error();
    }
    MDB_txn* txn = take_idle_reader();
    int rc = MDB_SUCCESS;
    if (txn != nullptr) {
      rc = mdb_txn_renew(txn);
      if (rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        txn = nullptr;
      }
    }
    if (txn == nullptr) rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != MDB_SUCCESS) {
      gate_.unlock_shared(holder);
      return lmdb_status(rc, "begin read");
    }
    try {
      return std::unique_ptr<BackendReadTx>(new LmdbReadTx(*this, txn, holder));
    } catch (...) {
      mdb_txn_abort(txn);
      gate_.unlock_shared(holder);
      throw;
    }
  });
}

int LmdbStore::write_batch(MDB_txn* txn, const WriteBatch& batch,
                           const std::vector<MDB_dbi>& dbis) {
  const auto& ops = batch.ops();
  for (size_t i = 0; i < ops.size(); ++i) {
    const auto& op = ops[i];
    int rc = MDB_SUCCESS;
    switch (op.type) {
      case WriteBatch::OpType::kPut:
        rc = lmdb_put(txn, dbis[i], op.key, op.value);
        break;
      case WriteBatch::OpType::kDelete:
        rc = lmdb_erase(txn, dbis[i], op.key);
        break;
      case WriteBatch::OpType::kDeleteRange:
        rc = lmdb_erase_range(txn, dbis[i], op.key, op.value);
        break;
    }
    if (rc != MDB_SUCCESS) return rc;
  }
  return MDB_SUCCESS;
}

Status LmdbStore::commit(const WriteBatch& batch, bool sync) {
  return guarded("commit", [&]() -> Status {
    std::unique_lock<std::mutex> write(write_mu_);
    KEEL_RETURN_IF_ERROR(check_writable());
    // Refuse bad input before writing anything; look the handles up once.
    std::vector<MDB_dbi> dbis;
    dbis.reserve(batch.size());
    for (const auto& op : batch.ops()) {
      MDB_dbi dbi;
      if (!find_dbi(op.bucket, &dbi)) {
        return Status::NotFound("bucket \"" + op.bucket + "\" does not exist");
      }
      dbis.push_back(dbi);
      if (op.type == WriteBatch::OpType::kPut && op.key.empty()) {
        return Status::InvalidArgument("lmdb: empty key in bucket \"" + op.bucket + "\"");
      }
    }
    if (batch.empty()) return Status::OK();
    for (;;) {
      MDB_txn* txn = nullptr;
      KEEL_RETURN_IF_ERROR(lmdb_status(mdb_txn_begin(env_, nullptr, 0, &txn), "begin write"));
      int rc = write_batch(txn, batch, dbis);
      if (rc == MDB_SUCCESS) {
        rc = mdb_txn_commit(txn);
      } else {
        mdb_txn_abort(txn);
      }
      if (rc == MDB_MAP_FULL) {
        // The whole batch is applied again in a bigger map: MDB_MAP_FULL never reaches a caller.
        KEEL_RETURN_IF_ERROR(grow_map(write));
        continue;
      }
      KEEL_RETURN_IF_ERROR(note_failure(lmdb_status(rc, "commit")));
      break;
    }
    if (sync) KEEL_RETURN_IF_ERROR(note_failure(lmdb_status(mdb_env_sync(env_, 1), "sync")));
    return Status::OK();
  });
}

Status LmdbStore::note_failure(Status s) {
  // After a failed write or fsync nothing more is written (see keel/backend.h).
  if (s.is_io_error() && failed_.ok()) {
    failed_ = s;
    logger_.error("lmdb: " + dir_ + " takes no more writes: " + s.to_string());
  }
  return s;
}

Status LmdbStore::check_writable() const {
  KEEL_RETURN_IF_ERROR(check_open());
  return failed_;
}

Status LmdbStore::lock_exclusive(std::unique_lock<std::mutex>& write, const char* why) {
  if (gate_.held_by_this_thread()) {
    // Waiting for every reader would wait for ourselves.
    return Status::FailedPrecondition(std::string("lmdb: ") + why +
                                      " waits for every read transaction, and this thread holds one");
  }
  // Wait in short turns, letting go of write_mu_ in between: a thread holding a read
  // transaction may be waiting for write_mu_ to commit, and must get its turn to finish.
  auto deadline = std::chrono::steady_clock::now() + kExclusiveWait;
  while (!gate_.try_lock_for(std::chrono::milliseconds(100))) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Aborted(std::string("lmdb: ") + why +
                             ": read transactions stayed open for too long");
    }
    write.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    write.lock();
    KEEL_RETURN_IF_ERROR(check_writable());
  }
  return Status::OK();
}

MDB_txn* LmdbStore::take_idle_reader() {
  std::lock_guard<std::mutex> lock(idle_mu_);
  if (idle_readers_.empty()) return nullptr;
  MDB_txn* txn = idle_readers_.back();
  idle_readers_.pop_back();
  return txn;
}

void LmdbStore::end_read(MDB_txn* txn) {
  mdb_txn_reset(txn);
  {
    std::lock_guard<std::mutex> lock(idle_mu_);
    if (idle_readers_.size() < kIdleReaders) {
      idle_readers_.push_back(txn);
      return;
    }
  }
  mdb_txn_abort(txn);
}

void LmdbStore::drop_idle_readers() {
  std::lock_guard<std::mutex> lock(idle_mu_);
  for (MDB_txn* txn : idle_readers_) mdb_txn_abort(txn);
  idle_readers_.clear();
}

Status LmdbStore::grow_map(std::unique_lock<std::mutex>& write) {
  uint64_t seen = map_size_;
  KEEL_RETURN_IF_ERROR(lock_exclusive(write, "growing the map"));
  int rc = MDB_SUCCESS;
  if (map_size_ == seen) {  // else another writer grew it while write_mu_ was let go
    uint64_t step = std::min<uint64_t>(map_size_, uint64_t{1} << 34);
    drop_idle_readers();  // the map is remapped under them
    rc = mdb_env_set_mapsize(env_, map_size_ + step);
    if (rc == MDB_SUCCESS) {
      map_size_ += step;
      logger_.info("lmdb: map of " + dir_ + " grown to " + std::to_string(map_size_) + " bytes");
    }
  }
  gate_.unlock();
  return lmdb_status(rc, "grow map");
}

Result<BackendStats> LmdbStore::stats() {
  return guarded("stats", [&]() -> Result<BackendStats> {
    SharedAccess access(gate_);
    KEEL_RETURN_IF_ERROR(check_open());
    BackendStats stats;
    struct stat st;
    std::string path = dir_ + "/" + kDataFile;
    if (::stat(path.c_str(), &st) != 0) {
      return Status::IOError("stat " + path + ": " + std::strerror(errno));
    }
    stats.size_bytes = static_cast<uint64_t>(st.st_size);
    MDB_txn* txn = nullptr;
    KEEL_RETURN_IF_ERROR(lmdb_status(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), "begin"));
    std::vector<MDB_dbi> dbis{1};  // the main database, then every bucket
    {
      std::lock_guard<std::mutex> lock(dbi_mu_);
      for (const auto& [name, dbi] : dbis_) dbis.push_back(dbi);
    }
    uint64_t pages = 2;  // the two meta pages
    unsigned page_size = 0;
    int rc = MDB_SUCCESS;
    for (MDB_dbi dbi : dbis) {
      MDB_stat s;
      rc = mdb_stat(txn, dbi, &s);
      if (rc == EINVAL) continue;  // created after this transaction began
      if (rc != MDB_SUCCESS) break;
      page_size = s.ms_psize;
      pages += s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages;
    }
    mdb_txn_abort(txn);
    KEEL_RETURN_IF_ERROR(lmdb_status(rc == EINVAL ? MDB_SUCCESS : rc, "stat"));
    stats.size_in_use_bytes = pages * page_size;
    return stats;
  });
}

Status LmdbStore::defragment() {
  return guarded("defragment", [&]() -> Status {
    std::unique_lock<std::mutex> write(write_mu_);
    KEEL_RETURN_IF_ERROR(check_writable());
    KEEL_RETURN_IF_ERROR(lock_exclusive(write, "defragment"));
    struct Unlock {
      AccessGate& gate;
      ~Unlock() { gate.unlock(); }
    } unlock{gate_};
    std::string data = dir_ + "/" + kDataFile;
    std::string tmp = data + ".compact";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("create " + tmp + ": " + std::strerror(errno));
    int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
    if (rc == MDB_SUCCESS && ::fsync(fd) != 0) rc = errno;
    ::close(fd);
    if (rc != MDB_SUCCESS) {
      ::unlink(tmp.c_str());
      return lmdb_status(rc, "compact copy");
    }
    // From here the store is unusable until the new file is open: close it for good on failure.
    close_env();
    Status s;
    if (::rename(tmp.c_str(), data.c_str()) != 0) {
      s = Status::IOError("rename " + tmp + ": " + std::strerror(errno));
    }
    if (s.ok()) s = fsync_path(dir_);
    if (s.ok()) s = open_env();
    if (!s.ok()) {
      closed_.store(true);
      logger_.error("lmdb: defragment of " + dir_ + " failed, store closed: " + s.to_string());
    }
    return s;
  });
}

Status LmdbStore::close() {
  std::lock_guard<std::mutex> write(write_mu_);
  bool was_closed = closed_.exchange(true);
  if (env_ != nullptr) {
    // Waits for every read transaction: the caller destroys them first (see backend.h).
    gate_.lock();
    close_env();
    gate_.unlock();
  }
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = -1;
  return was_closed ? closed_error() : Status::OK();
}

}  // namespace keel::backend_lmdb
