#include "leveldb_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <new>

#include "keel/engine_marker.h"
#include "leveldb_keys.h"
#include "leveldb_read.h"

namespace keel::backend_leveldb {

namespace {

Status closed_error() { return Status::FailedPrecondition("leveldb: the store is closed"); }

// No exception may leave the plugin (keel/status.h).
template <typename F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  return status_from_exceptions("leveldb", what, std::forward<F>(f));
}

}  // namespace

Status leveldb_status(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  std::string m = "leveldb: " + what + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  if (s.IsIOError()) return Status::IOError(m);
  if (s.IsNotSupportedError()) return Status::NotSupported(m);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(m);
  return Status::Internal(m);
}

LeveldbStore::LeveldbStore(std::string dir, Logger& logger, int dir_fd)
    : dir_(std::move(dir)), logger_(logger), dir_fd_(dir_fd) {}

LeveldbStore::~LeveldbStore() { close(); }

Result<std::unique_ptr<leveldb::DB>> LeveldbStore::open_db(const std::string& dir,
                                                           const LeveldbSettings& settings,
                                                           leveldb::Cache* cache, bool create) {
  // Bloom filters spare a point read the blocks of tables that lack its key. One policy for the
  // plugin's life (plugins are never unloaded), shared by every store.
  static const leveldb::FilterPolicy* const bloom = leveldb::NewBloomFilterPolicy(10);
  leveldb::Options o;
  o.filter_policy = bloom;
  o.create_if_missing = create;
  o.paranoid_checks = true;
  o.block_cache = cache;
  o.block_size = settings.block_size;
  o.write_buffer_size = settings.write_buffer_size;
  o.compression = settings.compression ? leveldb::kSnappyCompression : leveldb::kNoCompression;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(o, dir, &db);
  if (!s.ok()) {
    // Without create, LevelDB reports missing files (no CURRENT) as InvalidArgument: for a dir
    // whose marker says leveldb, that is a damaged store.
    if (!create && s.IsInvalidArgument()) {
      return Status::Corruption("leveldb: open " + dir + ": " + s.ToString());
    }
    return leveldb_status(s, "open " + dir);
  }
  return std::unique_ptr<leveldb::DB>(db);
}

Result<std::unique_ptr<Backend>> LeveldbStore::open(const BackendOptions& options,
                                                    const LeveldbSettings& settings,
                                                    Logger& logger) {
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
    std::unique_ptr<LeveldbStore> store(new LeveldbStore(dir, logger, *fd));

    auto fresh = is_fresh(dir, options.create_if_missing, kEngineName, kFormatVersion);
    if (!fresh.ok()) return fresh.status();
    if (*fresh) {
      KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, false}));
    }
    store->cache_.reset(leveldb::NewLRUCache(settings.cache_size));
    auto db = open_db(dir, settings, store->cache_.get(), *fresh);
    if (!db.ok()) return db.status();
    store->db_ = std::move(*db);
    if (*fresh) {
      // LevelDB syncs its CURRENT and MANIFEST on creation; the marker is complete after them.
      KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, true}));
    }
    leveldb::ReadOptions ro;
    ro.verify_checksums = true;
    std::unique_ptr<leveldb::Iterator> it(store->db_->NewIterator(ro));
    for (it->Seek(std::string(1, kRegistryTag)); it->Valid() && it->key()[0] == kRegistryTag;
         it->Next()) {
      store->buckets_.emplace(from_slice(it->key()).substr(1));
    }
    KEEL_RETURN_IF_ERROR(leveldb_status(it->status(), "read buckets"));
    return std::unique_ptr<Backend>(std::move(store));
  });
}

Status LeveldbStore::create_bucket(std::string_view bucket) {
  return guarded("create_bucket", [&]() -> Status {
    if (bucket.empty()) return Status::InvalidArgument("leveldb: a bucket name must be non-empty");
    std::lock_guard<std::mutex> write(write_mu_);
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return closed_error();
    {
      std::lock_guard<std::mutex> lock(buckets_mu_);
      if (buckets_.count(bucket) != 0) return Status::OK();
    }
    leveldb::WriteOptions wo;
    wo.sync = true;
    KEEL_RETURN_IF_ERROR(leveldb_status(db_->Put(wo, registry_key(bucket), ""), "create bucket"));
    std::lock_guard<std::mutex> lock(buckets_mu_);
    buckets_.emplace(bucket);
    return Status::OK();
  });
}

Result<std::unique_ptr<BackendReadTx>> LeveldbStore::begin_read() {
  return guarded("begin_read", [&]() -> Result<std::unique_ptr<BackendReadTx>> {
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return closed_error();
    const leveldb::Snapshot* snapshot = db_->GetSnapshot();
    try {
      return std::unique_ptr<BackendReadTx>(new LeveldbReadTx(*this, snapshot));
    } catch (...) {
      db_->ReleaseSnapshot(snapshot);
      throw;
    }
  });
}

Status LeveldbStore::commit(const WriteBatch& batch, bool sync) {
  return guarded("commit", [&]() -> Status {
    std::lock_guard<std::mutex> write(write_mu_);
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return closed_error();
    {
      std::lock_guard<std::mutex> lock(buckets_mu_);
      for (const auto& op : batch.ops()) {
        if (buckets_.count(op.bucket) == 0) {
          return Status::NotFound("bucket \"" + op.bucket + "\" does not exist");
        }
        // As the lmdb backend (and etcd): a key is never empty.
        if (op.type == WriteBatch::OpType::kPut && op.key.empty()) {
          return Status::InvalidArgument("leveldb: empty key in bucket \"" + op.bucket + "\"");
        }
      }
    }
    leveldb::WriteBatch wb;
    // Keys this batch puts: a later delete-range in the same batch must delete them too, and
    // the database does not hold them yet.
    std::set<std::string> put_keys;
    for (const auto& op : batch.ops()) {
      std::string k = bucket_prefix(op.bucket);
      switch (op.type) {
        case WriteBatch::OpType::kPut:
          k.append(op.key);
          wb.Put(k, op.value);
          put_keys.insert(std::move(k));
          break;
        case WriteBatch::OpType::kDelete:
          k.append(op.key);
          wb.Delete(k);
          put_keys.erase(k);
          break;
        case WriteBatch::OpType::kDeleteRange: {
          if (!(op.key < op.value)) break;
          std::string end = k + op.value;
          k.append(op.key);
          leveldb::ReadOptions ro;
          ro.verify_checksums = true;
          std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
          for (it->Seek(k); it->Valid() && it->key().compare(to_slice(end)) < 0; it->Next()) {
            wb.Delete(it->key());
          }
          KEEL_RETURN_IF_ERROR(leveldb_status(it->status(), "delete range"));
          auto first = put_keys.lower_bound(k), last = put_keys.lower_bound(end);
          for (auto i = first; i != last; ++i) wb.Delete(*i);
          put_keys.erase(first, last);
          break;
        }
      }
    }
    leveldb::WriteOptions wo;
    wo.sync = sync;
    return leveldb_status(db_->Write(wo, &wb), "commit");
  });
}

Result<BackendStats> LeveldbStore::stats() {
  return guarded("stats", [&]() -> Result<BackendStats> {
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return closed_error();
    namespace fs = std::filesystem;
    BackendStats stats;
    uint64_t logs = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) {
      std::error_code fec;
      if (!e.is_regular_file(fec)) continue;
      uint64_t size = e.file_size(fec);
      if (fec) continue;  // removed by a compaction meanwhile
      stats.size_bytes += size;
      if (e.path().extension() == ".log") logs += size;
    }
    if (ec) return Status::IOError("list " + dir_ + ": " + ec.message());
    // Live data: the tables' share of the whole key space, plus the log that holds the memtable.
    // leveldb::Range holds Slices: the strings they point into must outlive it.
    const std::string all_begin(1, kRegistryTag);
    const std::string all_end(1, static_cast<char>(kDataTag + 1));
    leveldb::Range all(all_begin, all_end);
    uint64_t tables = 0;
    db_->GetApproximateSizes(&all, 1, &tables);
    stats.size_in_use_bytes = std::min(stats.size_bytes, tables + logs);
    return stats;
  });
}

Status LeveldbStore::defragment() {
  return guarded("defragment", [&]() -> Status {
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return closed_error();
    // Compacting everything drops deleted and overwritten entries and their files.
    db_->CompactRange(nullptr, nullptr);
    return Status::OK();
  });
}

Status LeveldbStore::close() {
  std::lock_guard<std::mutex> write(write_mu_);
  std::unique_lock<std::shared_mutex> state(state_mu_);
  if (closed_.exchange(true)) return closed_error();
  db_.reset();
  cache_.reset();
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = -1;
  return Status::OK();
}

}  // namespace keel::backend_leveldb
