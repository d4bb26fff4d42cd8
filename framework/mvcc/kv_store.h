// KvStore: keel's MVCC key-value store over a keel::Backend (etcd's mvcc.store).
//
// An empty store is at revision 1, as etcd's, so the first write is revision 2.
// Every write transaction (a Put, a DeleteRange, a Txn with writes) gets the next main revision;
// its changes are numbered by sub revision. The `key` bucket maps each revision to the encoded
// KeyValue written at it (a delete writes a tombstone), so any revision since the last compaction
// can be read; the KeyIndex says which revision of a key is visible at a revision. The `meta`
// bucket holds the applied Raft index and the compaction marks. Layout: docs/format/mvcc.md.
//
// Writes are gathered into Backend commits, bounded by count and by time (a background thread
// commits every batch_interval); each commit carries the applied Raft index, so after a restart
// consistent_index() says exactly which entries are in the store. Applied but uncommitted writes
// are read from an in-memory overlay (overlay.h), so reads see every applied write at once.
// Compaction deletes old revisions from the Backend in bounded batches on the same background
// thread, taking the write lock per batch only, so reads and writes go on meanwhile.
//
// Errors are etcd's (errors.h). A failed Backend commit is an IOError that stops the store: every
// later write returns it (a failed fsync is never retried).
//
// Thread safety: one writer — the apply thread calls the write methods (put, delete_range, txn,
// compact, stage, delete_keys, set_consistent_index, force_commit); reads (range, hash_kv, the
// revision getters) may be called from any number of threads at once.
#ifndef KEEL_MVCC_KV_STORE_H_
#define KEEL_MVCC_KV_STORE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keel/backend.h"
#include "keel/kv.h"
#include "keel/status.h"
#include "metrics/metrics.h"
#include "mvcc/key_index.h"
#include "mvcc/lease_hooks.h"
#include "mvcc/overlay.h"
#include "mvcc/requests.h"

namespace keel::mvcc {

inline constexpr char kKeyBucket[] = "key";
inline constexpr char kMetaBucket[] = "meta";
inline constexpr char kConsistentIndexKey[] = "consistent_index";
inline constexpr char kScheduledCompactKey[] = "scheduledCompactRev";
inline constexpr char kFinishedCompactKey[] = "finishedCompactRev";

struct StoreOptions {
  // --backend-batch-limit and --backend-batch-interval: commit after this many pending changes,
  // or this long after the oldest. An interval of zero commits only by count (and force_commit).
  size_t batch_limit = 10000;
  std::chrono::milliseconds batch_interval{100};
  // --experimental-compaction-batch-limit: revisions deleted per compaction commit.
  size_t compaction_batch_limit = 1000;
  // Whether commits wait for the disk. The WAL is the durable record either way.
  bool sync_commits = true;
  // --max-txn-ops.
  size_t max_txn_ops = 128;
  // Observes each Backend commit's duration in seconds (etcd_disk_backend_commit_duration_seconds);
  // not owned, may be null.
  metrics::Histogram* commit_duration = nullptr;
};

class KvStore {
 public:
  // Opens the store kept in `backend` (creating its buckets), rebuilds the key index and resumes
  // an unfinished compaction. `backend` must outlive the store.
  static Result<std::unique_ptr<KvStore>> open(Backend& backend, const StoreOptions& options = {});
  ~KvStore();
  KvStore(const KvStore&) = delete;
  KvStore& operator=(const KvStore&) = delete;

  // Connects the lease module: every live key with a lease is attached now, later puts and
  // deletes attach and detach, and puts check that their lease exists. Call before applying.
  void set_lease_hooks(LeaseHooks* hooks);

  // ---- reads (any thread) ----
  Result<RangeResponse> range(const RangeRequest& request) const;
  // A txn that writes nothing (txn_writes() is false), from any thread, as a read: its compares
  // and ranges all see one revision, the current one. InvalidArgument for a txn that writes.
  Result<TxnResponse> read_txn(const TxnRequest& request) const;
  int64_t current_revision() const { return current_rev_.load(std::memory_order_acquire); }
  // The revision of the last compaction, -1 if none.
  int64_t compacted_revision() const { return compact_rev_.load(std::memory_order_acquire); }
  // The Raft index of the last entry applied (persisted once committed).
  uint64_t consistent_index() const { return consistent_index_.load(std::memory_order_acquire); }
  // etcd's HashKV: a CRC-32C of the `key` bucket's revisions up to `revision` (0 = current)
  // that survive compaction, identical on every member with the same history.
  Result<HashKvResponse> hash_kv(int64_t revision) const;
  // The events of the revisions in [from, to] (to 0 = current), in order, for catching up
  // watchers. Compacted if `from` is below the compacted revision (at it, what the compaction
  // kept of it: etcd's rule).
  Result<std::vector<Event>> events(int64_t from, int64_t to) const;

  // ---- writes (the apply thread) ----
  // `index` is the Raft index of the entry being applied (0: none); it is recorded even when the
  // request fails, because the entry was applied (its answer is the error). `events`, if given,
  // receives the changes of the revision, each with prev_kv: the key before the revision, where
  // it existed (what a watch hub needs; read here, where the key's history is already at hand).
  // events() below carries none: catch-ups read prev_kv for the watchers that ask.
  Result<PutResponse> put(const PutRequest& request, uint64_t index,
                          std::vector<Event>* events = nullptr);
  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& request, uint64_t index,
                                           std::vector<Event>* events = nullptr);
  Result<TxnResponse> txn(const TxnRequest& request, uint64_t index,
                          std::vector<Event>* events = nullptr);
  // Compacts at `revision`: ErrCompacted at or below the compacted revision, ErrFutureRev above
  // the current one. The key index is compacted at once; the Backend is purged in the background
  // (wait_compaction waits for it: etcd's `physical`).
  Result<CompactResponse> compact(int64_t revision, uint64_t index);
  Status wait_compaction();
  // Deletes `keys` (those live) in one revision and stages `extra` (other buckets) in the same
  // Backend commit: lease revocation.
  Result<DeleteRangeResponse> delete_keys(const std::vector<std::string>& keys,
                                          const WriteBatch& extra, uint64_t index,
                                          std::vector<Event>* events = nullptr);
  // Stages writes to other buckets (e.g. `lease`) into the next commit.
  Status stage(const WriteBatch& extra, uint64_t index);
  // Records an applied entry that changed nothing here.
  void set_consistent_index(uint64_t index);
  // Commits everything pending now (tests, shutdown, snapshots).
  Status force_commit();
  // Stops the background thread and commits what is pending. Also done by the destructor.
  Status close();

  Backend& backend() const { return backend_; }
  // For tests: the index's invariants.
  Status check_invariants() const { return index_.check(); }

 private:
  class WriteTxn;
  struct CompactionJob {
    int64_t revision;
    std::vector<Revision> keep;  // sorted
    std::string next;            // the next revision key to look at
  };

  KvStore(Backend& backend, const StoreOptions& options);
  Status restore();
  void start_background();
  void background_loop();
  // One batch of the front compaction job; sets *done when the job is finished.
  Status compaction_step(bool* done);

  // Under write_mu_.
  void note_index(uint64_t index);
  Status commit_locked();
  Status maybe_commit_locked();

  Result<RangeResponse> range_at(const RangeRequest& r, int64_t read_rev, int64_t compacted) const;
  bool compare(const Compare& c, int64_t read_rev) const;
  Result<TxnResponse> read_txn_at(const TxnRequest& t, int64_t rev, int64_t compacted) const;
  // etcd's checkRequestRange, for a Range inside a txn read at `rev`: a future revision, or one
  // below the first the store holds (negative ones too: etcd's first revision is -1 until a
  // compaction), is refused; 0 reads at `rev`.
  static Status check_txn_range(const RangeRequest& r, int64_t rev, int64_t compacted);

  Backend& backend_;
  const StoreOptions options_;
  KeyIndex index_;
  Overlay overlay_;
  LeaseHooks* leases_ = nullptr;

  // etcd's store starts at revision 1, so the first write is revision 2; keel matches it.
  std::atomic<int64_t> current_rev_{1};
  std::atomic<int64_t> compact_rev_{-1};
  std::atomic<uint64_t> consistent_index_{0};

  // The writer's state.
  std::mutex write_mu_;
  Status failed_;                   // the commit error that stopped the store
  WriteBatch extra_;                // staged writes to other buckets
  uint64_t committed_index_ = 0;    // consistent index as last committed
  std::chrono::steady_clock::time_point pending_since_;
  bool closed_ = false;

  // The background thread: timed commits and compaction batches.
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::condition_variable compaction_done_cv_;
  std::deque<CompactionJob> jobs_;
  Status compaction_status_;
  bool stop_ = false;
  std::thread background_;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_KV_STORE_H_
