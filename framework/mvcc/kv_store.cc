// KvStore: opening, restoring, committing, and the background thread (timed commits and
// compaction). Reads are in kv_read.cc, writes in kv_write.cc, hashing in kv_hash.cc.
#include "mvcc/kv_store.h"

#include <algorithm>

#include "failpoint/failpoint.h"
#include "mvcc/errors.h"
#include "mvcc/kv_codec.h"
#include "mvcc/revision.h"

namespace keel::mvcc {
namespace {

std::string be64(int64_t v) {
  std::string s;
  append_u64_be(&s, static_cast<uint64_t>(v));
  return s;
}

// The meta value under `key`, or `fallback` if absent.
Result<int64_t> read_meta(BackendReadTx& tx, const char* key, int64_t fallback) {
  std::string v;
  Status s = tx.get(kMetaBucket, key, &v);
  if (s.is_not_found()) return fallback;
  if (!s.ok()) return s;
  if (v.size() != 8) return Status::Corruption(std::string("mvcc: meta ") + key + " is not 8 bytes");
  return static_cast<int64_t>(read_u64_be(v));
}

}  // namespace

KvStore::KvStore(Backend& backend, const StoreOptions& options)
    : backend_(backend), options_(options) {}

KvStore::~KvStore() { (void)close(); }

Result<std::unique_ptr<KvStore>> KvStore::open(Backend& backend, const StoreOptions& options) {
  KEEL_RETURN_IF_ERROR(backend.create_bucket(kKeyBucket));
  KEEL_RETURN_IF_ERROR(backend.create_bucket(kMetaBucket));
  std::unique_ptr<KvStore> store(new KvStore(backend, options));
  KEEL_RETURN_IF_ERROR(store->restore());
  store->start_background();
  return store;
}

Status KvStore::restore() {
  auto tx = backend_.begin_read();
  if (!tx.ok()) return tx.status();
  auto ci = read_meta(**tx, kConsistentIndexKey, 0);
  auto scheduled = read_meta(**tx, kScheduledCompactKey, -1);
  auto finished = read_meta(**tx, kFinishedCompactKey, -1);
  if (!ci.ok()) return ci.status();
  if (!scheduled.ok()) return scheduled.status();
  if (!finished.ok()) return finished.status();
  consistent_index_ = static_cast<uint64_t>(*ci);
  committed_index_ = static_cast<uint64_t>(*ci);

  auto cursor = (*tx)->cursor(kKeyBucket);
  if (!cursor.ok()) return cursor.status();
  int64_t current = 1;  // an empty store is at revision 1, as etcd's
  KeyValue kv;
  for ((*cursor)->seek_to_first(); (*cursor)->valid(); (*cursor)->next()) {
    auto rk = decode_revision_key((*cursor)->key());
    if (!rk.ok()) return rk.status();
    KEEL_RETURN_IF_ERROR(decode_key_value((*cursor)->value(), &kv, /*skip_value=*/true));
    index_.restore(kv, rk->rev, rk->tombstone);
    current = std::max(current, rk->rev.main);
  }
  KEEL_RETURN_IF_ERROR((*cursor)->status());

  const int64_t compacted = std::max(*scheduled, *finished);
  current_rev_ = std::max(current, compacted);
  compact_rev_ = compacted;
  if (*scheduled > *finished) {
    // The Backend stopped in the middle of a compaction: finish it.
    jobs_.push_back(CompactionJob{*scheduled, index_.compact(*scheduled), {}});
  } else if (compacted >= 0) {
    (void)index_.compact(compacted);  // drops tombstones left at the compaction point
  }
  return Status::OK();
}

void KvStore::set_lease_hooks(LeaseHooks* hooks) {
  std::lock_guard lock(write_mu_);
  leases_ = hooks;
  if (hooks == nullptr) return;
  KeyRange all = KeyRange::from(std::string_view("\0", 1), std::string_view("\0", 1));
  for (const auto& k : index_.keys(all, current_revision())) {
    if (k.lease != 0) hooks->attach(k.lease, k.key);
  }
}

void KvStore::start_background() {
  background_ = std::thread([this] { background_loop(); });
}

void KvStore::note_index(uint64_t index) {
  if (index > consistent_index_.load(std::memory_order_relaxed)) {
    consistent_index_.store(index, std::memory_order_release);
  }
}

void KvStore::set_consistent_index(uint64_t index) {
  std::lock_guard lock(write_mu_);
  note_index(index);
}

Status KvStore::commit_locked() {
  KEEL_RETURN_IF_ERROR(failed_);
  const uint64_t ci = consistent_index_.load(std::memory_order_relaxed);
  const size_t n = overlay_.size();
  if (n == 0 && extra_.empty() && ci == committed_index_) return Status::OK();
  WriteBatch batch;
  overlay_.for_each([&](const Overlay::Entry& e) {
    batch.put(kKeyBucket, encode_revision_key(e.rev, e.tombstone), e.value);
  });
  for (const auto& op : extra_.ops()) {
    switch (op.type) {
      case WriteBatch::OpType::kPut: batch.put(op.bucket, op.key, op.value); break;
      case WriteBatch::OpType::kDelete: batch.erase(op.bucket, op.key); break;
      case WriteBatch::OpType::kDeleteRange: batch.erase_range(op.bucket, op.key, op.value); break;
    }
  }
  if (ci != committed_index_) batch.put(kMetaBucket, kConsistentIndexKey, be64(static_cast<int64_t>(ci)));
  const auto started = std::chrono::steady_clock::now();
  failpoint::reach(failpoint::kBeforeCommit);
  Status s = backend_.commit(batch, options_.sync_commits);
  if (options_.commit_duration != nullptr) {
    options_.commit_duration->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  failpoint::reach(failpoint::kAfterCommit);
  if (!s.ok()) {
    failed_ = s.with_context("mvcc: backend commit failed; the store is stopped");
    return failed_;
  }
  overlay_.trim(n);
  extra_.clear();
  committed_index_ = ci;
  pending_since_ = {};
  return Status::OK();
}

Status KvStore::maybe_commit_locked() {
  const size_t pending = overlay_.size() + extra_.size();
  if (pending == 0) return Status::OK();
  const auto now = std::chrono::steady_clock::now();
  if (pending_since_ == std::chrono::steady_clock::time_point{}) pending_since_ = now;
  const bool by_count = pending >= options_.batch_limit;
  const bool by_time =
      options_.batch_interval.count() > 0 && now - pending_since_ >= options_.batch_interval;
  if (!by_count && !by_time) return Status::OK();
  return commit_locked();
}

Status KvStore::force_commit() {
  std::lock_guard lock(write_mu_);
  return commit_locked();
}

Status KvStore::stage(const WriteBatch& extra, uint64_t index) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  for (const auto& op : extra.ops()) {
    switch (op.type) {
      case WriteBatch::OpType::kPut: extra_.put(op.bucket, op.key, op.value); break;
      case WriteBatch::OpType::kDelete: extra_.erase(op.bucket, op.key); break;
      case WriteBatch::OpType::kDeleteRange: extra_.erase_range(op.bucket, op.key, op.value); break;
    }
  }
  return maybe_commit_locked();
}

Result<CompactResponse> KvStore::compact(int64_t revision, uint64_t index) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  const int64_t current = current_revision();
  if (revision <= compacted_revision()) return ErrCompacted();
  if (revision > current) return ErrFutureRev();
  // Order matters for readers: the compacted revision rises before the index forgets anything,
  // so a read that finds a revision gone also finds it compacted.
  compact_rev_.store(revision, std::memory_order_release);
  std::vector<Revision> keep = index_.compact(revision);
  extra_.put(kMetaBucket, kScheduledCompactKey, be64(revision));
  // Every revision <= `revision` must be in the Backend before the purge scans it.
  KEEL_RETURN_IF_ERROR(commit_locked());
  {
    std::lock_guard bg(bg_mu_);
    jobs_.push_back(CompactionJob{revision, std::move(keep), {}});
  }
  bg_cv_.notify_all();
  CompactResponse r;
  r.header.revision = current;
  return r;
}

Status KvStore::wait_compaction() {
  std::unique_lock lock(bg_mu_);
  compaction_done_cv_.wait(lock, [&] { return jobs_.empty() || stop_; });
  return compaction_status_;
}

Status KvStore::compaction_step(bool* done) {
  CompactionJob* job;
  {
    std::lock_guard bg(bg_mu_);
    job = &jobs_.front();  // only this thread pops, so the reference stays valid
  }
  const std::string end = encode_revision_key(Revision{job->revision + 1, 0});
  WriteBatch erase;
  *done = true;
  {
    auto tx = backend_.begin_read();
    if (!tx.ok()) return tx.status();
    auto c = (*tx)->cursor(kKeyBucket);
    if (!c.ok()) return c.status();
    size_t scanned = 0;
    for ((*c)->seek(job->next); (*c)->valid() && (*c)->key() < end; (*c)->next()) {
      if (scanned == options_.compaction_batch_limit) {
        job->next = std::string((*c)->key());
        *done = false;
        break;
      }
      ++scanned;
      auto rk = decode_revision_key((*c)->key());
      if (!rk.ok()) return rk.status();
      if (!std::binary_search(job->keep.begin(), job->keep.end(), rk->rev)) {
        erase.erase(kKeyBucket, (*c)->key());
      }
    }
    KEEL_RETURN_IF_ERROR((*c)->status());
  }
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  for (const auto& op : erase.ops()) extra_.erase(op.bucket, op.key);
  if (*done) extra_.put(kMetaBucket, kFinishedCompactKey, be64(job->revision));
  return commit_locked();
}

void KvStore::background_loop() {
  std::unique_lock lock(bg_mu_);
  for (;;) {
    if (jobs_.empty()) {
      if (options_.batch_interval.count() > 0) {
        bg_cv_.wait_for(lock, options_.batch_interval, [&] { return stop_ || !jobs_.empty(); });
      } else {
        bg_cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
      }
    }
    if (stop_) return;
    if (!jobs_.empty()) {
      lock.unlock();
      bool done = false;
      Status s = compaction_step(&done);
      lock.lock();
      if (!s.ok()) {
        compaction_status_ = s;
        done = true;
      }
      if (done) {
        jobs_.pop_front();
        compaction_done_cv_.notify_all();
      }
      continue;
    }
    lock.unlock();
    {
      std::lock_guard w(write_mu_);
      if (!closed_) (void)maybe_commit_locked();
    }
    lock.lock();
  }
}

Status KvStore::close() {
  {
    std::lock_guard bg(bg_mu_);
    if (stop_ && !background_.joinable()) return failed_;
    stop_ = true;
  }
  bg_cv_.notify_all();
  compaction_done_cv_.notify_all();
  if (background_.joinable()) background_.join();
  std::lock_guard lock(write_mu_);
  if (closed_) return failed_;
  closed_ = true;
  return commit_locked();
}

}  // namespace keel::mvcc
