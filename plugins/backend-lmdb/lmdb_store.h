// LmdbStore: a keel::Backend over one LMDB environment in a data directory.
//
// Layout of the data dir: data.mdb and lock.mdb (LMDB's), keel-backend (the engine marker).
// Each bucket is one named LMDB database; keys longer than LMDB allows are grouped (long_keys.h).
//
// Concurrency: LMDB has one writer; write_mu_ serializes commit, create_bucket and defragment.
// Read transactions are MDB_RDONLY transactions opened with MDB_NOTLS, so they may move between
// threads. gate_ is held shared by every read transaction, stats and copy_to, and exclusively
// while the map grows (LMDB remaps the file, so no read transaction may be alive), while
// defragment swaps the file, and by close. The exclusive waiter lets go of write_mu_ every
// 100 ms (a reader's thread may be waiting to commit) and gives up after a minute; a thread that
// holds a read transaction itself gets FailedPrecondition rather than a deadlock.
//
// Durability: the environment runs with MDB_NOMETASYNC: every commit fdatasyncs its data pages
// but not the meta page, so a power loss may roll back to an earlier commit yet never leaves a
// torn tree. A commit with sync then fsyncs the meta page too (mdb_env_sync) before returning.
// A process crash loses nothing that commit returned for.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LMDB_STORE_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LMDB_STORE_H_

#include <lmdb.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "access_gate.h"
#include "keel/backend.h"
#include "keel/logger.h"

namespace keel::backend_lmdb {

inline constexpr const char* kEngineName = "lmdb";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr const char* kDataFile = "data.mdb";

struct LmdbSettings {
  uint64_t map_size = uint64_t{1} << 30;
  unsigned max_dbs = 64;
  unsigned max_readers = 256;
};

inline MDB_val to_val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
inline std::string_view from_val(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

class LmdbStore : public Backend {
 public:
  // Opens (or, if allowed, creates) the store in options.dir.
  static Result<std::unique_ptr<Backend>> open(const BackendOptions& options,
                                               const LmdbSettings& settings, Logger& logger);
  ~LmdbStore() override;

  Status create_bucket(std::string_view bucket) override;
  Result<std::unique_ptr<BackendReadTx>> begin_read() override;
  Status commit(const WriteBatch& batch, bool sync) override;
  Result<BackendStats> stats() override;
  Status defragment() override;
  Status copy_to(ByteSink& out) override;
  Status close() override;

  // The handle of `bucket` if it was ever created in this store; for read transactions.
  bool find_dbi(std::string_view bucket, MDB_dbi* dbi);
  AccessGate& gate() { return gate_; }
  // Ends a read transaction of begin_read(), keeping its handle for the next one (LMDB's
  // mdb_txn_reset and mdb_txn_renew: a renewed handle costs no allocation, where mdb_txn_begin
  // callocs one sized by max_dbs — ~4,500 instructions a read, callgrind 2026-12-02). REQUIRES:
  // the caller still holds its shared hold of gate().
  void end_read(MDB_txn* txn);

 private:
  LmdbStore(std::string dir, LmdbSettings settings, Logger& logger, int dir_fd);

  // Most reset read transactions kept for reuse (each keeps its slot in LMDB's reader table).
  static constexpr size_t kIdleReaders = 16;

  Status open_env();  // opens env_ and the handles of every bucket
  void close_env();
  MDB_txn* take_idle_reader();  // null when none is kept
  // REQUIRES: gate_ held exclusively (no read transaction open), or closing.
  void drop_idle_readers();
  // Applies `batch`, op i to bucket handle dbis[i]; returns an LMDB return code.
  int write_batch(MDB_txn* txn, const WriteBatch& batch, const std::vector<MDB_dbi>& dbis);
  // Grows the map. REQUIRES: `write` holds write_mu_, no write transaction open. May let go of
  // write_mu_ for a while (see lock_exclusive).
  Status grow_map(std::unique_lock<std::mutex>& write);
  // Takes gate_ exclusively for the holder of `write`, or says why it cannot.
  Status lock_exclusive(std::unique_lock<std::mutex>& write, const char* why);
  Status check_open() const;
  Status check_writable() const;  // open, and no write has failed
  Status note_failure(Status s);  // REQUIRES: write_mu_ held; returns s

  const std::string dir_;
  const LmdbSettings settings_;
  Logger& logger_;
  int dir_fd_;  // flock'ed: one process (and one LmdbStore) per data dir

  std::atomic<bool> closed_{false};
  std::mutex write_mu_;
  Status failed_;  // the first IOError of a write or sync; guarded by write_mu_
  AccessGate gate_;
  MDB_env* env_ = nullptr;
  uint64_t map_size_;

  std::mutex idle_mu_;
  std::vector<MDB_txn*> idle_readers_;  // reset read transactions, guarded by idle_mu_

  std::mutex dbi_mu_;
  std::map<std::string, MDB_dbi, std::less<>> dbis_;
};

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LMDB_STORE_H_
