// LeveldbStore: a keel::Backend over one LevelDB database in a data directory.
//
// Buckets are key prefixes (leveldb_keys.h). A read transaction is a LevelDB snapshot; its cursors
// are snapshot iterators bounded to one bucket's prefix. A commit is one LevelDB WriteBatch written
// with WriteOptions::sync as asked, so it is atomic, and durable when synced (LevelDB's log is
// replayed on open). Checksums are verified on every read and paranoid checks are on.
//
// Concurrency: LevelDB is thread-safe; write_mu_ serializes commits (a delete-range reads the
// current keys to delete, which must not change under it). state_mu_ is held shared by every
// call that touches db_ and exclusively by close.
#ifndef KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_STORE_H_
#define KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_STORE_H_

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/options.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>

#include "keel/backend.h"
#include "keel/logger.h"

namespace keel::backend_leveldb {

inline constexpr const char* kEngineName = "leveldb";
inline constexpr uint32_t kFormatVersion = 1;

struct LeveldbSettings {
  uint64_t cache_size = uint64_t{64} << 20;
  uint64_t block_size = 4096;
  uint64_t write_buffer_size = uint64_t{64} << 20;
  bool compression = true;  // snappy
};

// Maps a LevelDB status onto keel's codes.
Status leveldb_status(const leveldb::Status& s, const std::string& what);

class LeveldbStore : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> open(const BackendOptions& options,
                                               const LeveldbSettings& settings, Logger& logger);
  // Opens the LevelDB database in `dir` as LevelDB itself (no marker check, no dir lock): for
  // open() and restore.
  static Result<std::unique_ptr<leveldb::DB>> open_db(const std::string& dir,
                                                      const LeveldbSettings& settings,
                                                      leveldb::Cache* cache, bool create);
  ~LeveldbStore() override;

  Status create_bucket(std::string_view bucket) override;
  Result<std::unique_ptr<BackendReadTx>> begin_read() override;
  Status commit(const WriteBatch& batch, bool sync) override;
  Result<BackendStats> stats() override;
  Status defragment() override;
  Status copy_to(ByteSink& out) override;
  Status close() override;

  // For read transactions: db_ while the store is open, under state_mu_ held shared.
  std::shared_mutex& state_mu() { return state_mu_; }
  leveldb::DB* db() const { return closed_.load() ? nullptr : db_.get(); }

 private:
  LeveldbStore(std::string dir, Logger& logger, int dir_fd);

  const std::string dir_;
  Logger& logger_;
  int dir_fd_;
  std::atomic<bool> closed_{false};
  std::shared_mutex state_mu_;
  std::mutex write_mu_;
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<leveldb::DB> db_;
  std::mutex buckets_mu_;
  std::set<std::string, std::less<>> buckets_;  // every bucket, for commit's up-front check
};

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_STORE_H_
