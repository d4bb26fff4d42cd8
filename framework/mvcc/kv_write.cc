// KvStore writes: Put, DeleteRange and Txn (etcd 3.5's applierV3backend over storeTxnWrite), each
// one write transaction that takes the next main revision if it changes anything.
#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>

#include "mvcc/errors.h"
#include "mvcc/kv_codec.h"
#include "mvcc/kv_store.h"
#include "mvcc/revision.h"
#include "mvcc/validate.h"
#include "mvcc/value_reader.h"

namespace keel::mvcc {

// One write transaction under write_mu_: changes go to the index and the overlay as they are made
// (they are above the published revision, so readers ignore them), and end() publishes the
// revision. Reads inside see the transaction's own changes, as etcd's do.
class KvStore::WriteTxn {
 public:
  WriteTxn(KvStore& store, std::vector<Event>* events)
      : s_(store), begin_rev_(store.current_revision()), events_(events) {}

  int64_t read_rev() const { return sub_ > 0 ? begin_rev_ + 1 : begin_rev_; }
  int64_t begin_rev() const { return begin_rev_; }
  bool changed() const { return sub_ > 0; }

  // REQUIRES: the request passed validate() and check_put().
  Result<PutResponse> put(const PutRequest& r) {
    PutResponse resp;
    auto cur = s_.index_.get_latest(r.key, read_rev());
    KeyValue prev;
    if (cur && (r.prev_kv || r.ignore_value)) {
      KEEL_RETURN_IF_ERROR(fetch_one(cur->state.modified, &prev));
    }
    std::optional<KeyValue> event_prev;
    if (events_ != nullptr) KEEL_RETURN_IF_ERROR(prev_of(r.key, cur ? &*cur : nullptr, prev, &event_prev));
    const Revision rev{begin_rev_ + 1, sub_++};
    KeyValue kv;
    kv.key = r.key;
    kv.create_revision = cur ? cur->state.created : rev.main;
    kv.mod_revision = rev.main;
    kv.version = cur ? cur->state.version + 1 : 1;
    kv.value = r.ignore_value ? prev.value : r.value;
    kv.lease = r.ignore_lease ? cur->lease : r.lease;
    s_.overlay_.append(rev, false, encode_key_value(kv));
    s_.index_.put(kv.key, rev, kv.lease);
    if (s_.leases_ != nullptr) {
      if (cur && cur->lease != 0) s_.leases_->detach(cur->lease, kv.key);
      if (kv.lease != 0) s_.leases_->attach(kv.lease, kv.key);
    }
    if (cur && r.prev_kv) resp.prev_kv = std::move(prev);
    if (events_ != nullptr) events_->push_back(Event{Event::Type::kPut, std::move(kv), std::move(event_prev)});
    resp.header.revision = rev.main;
    return resp;
  }

  Result<DeleteRangeResponse> delete_range(const DeleteRangeRequest& r) {
    std::vector<IndexedKey> keys = s_.index_.keys(KeyRange::from(r.key, r.range_end), read_rev());
    return delete_keys(keys, r.prev_kv);
  }

  Result<DeleteRangeResponse> delete_keys(const std::vector<IndexedKey>& keys, bool prev_kv) {
    DeleteRangeResponse resp;
    if (prev_kv && !keys.empty()) {
      std::vector<Revision> revs;
      for (const auto& k : keys) revs.push_back(k.state.modified);
      ValueReader reader(s_.overlay_, s_.backend_);
      KEEL_RETURN_IF_ERROR(corrupt_if_missing(reader.fetch(revs, false, &resp.prev_kvs)));
    }
    std::vector<std::optional<KeyValue>> event_prevs(events_ != nullptr ? keys.size() : 0);
    for (size_t i = 0; i < event_prevs.size(); ++i) {
      KEEL_RETURN_IF_ERROR(prev_of(keys[i].key, &keys[i], prev_kv ? resp.prev_kvs[i] : KeyValue{}, &event_prevs[i]));
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const IndexedKey& k = keys[i];
      const Revision rev{begin_rev_ + 1, sub_++};
      KeyValue tomb;
      tomb.key = k.key;
      s_.overlay_.append(rev, true, encode_key_value(tomb));
      KEEL_RETURN_IF_ERROR(s_.index_.tombstone(k.key, rev));
      if (s_.leases_ != nullptr && k.lease != 0) s_.leases_->detach(k.lease, k.key);
      if (events_ != nullptr) {
        tomb.mod_revision = rev.main;
        events_->push_back(Event{Event::Type::kDelete, std::move(tomb), std::move(event_prevs[i])});
      }
    }
    resp.deleted = static_cast<int64_t>(keys.size());
    // As etcd's storeTxnWrite: the txn's revision once it has changed anything.
    resp.header.revision = sub_ > 0 ? begin_rev_ + 1 : begin_rev_;
    return resp;
  }

  // Publishes the revision (if anything changed) and commits if a batch is due.
  Status end() {
    if (sub_ > 0) s_.current_rev_.store(begin_rev_ + 1, std::memory_order_release);
    return s_.maybe_commit_locked();
  }

 private:
  static Status corrupt_if_missing(Status s) {
    // The writer holds the only key to compaction, so a live revision missing is damage.
    if (s.is_not_found()) return Status::Corruption(s.message());
    return s;
  }
  // The key as it was before this transaction, for its event (etcd's watchers read prev_kv at
  // the revision before the event's): `cur` is its latest state as the transaction sees it, and
  // `fetched` its value when the caller already read it (mod_revision 0: not read). A key the
  // transaction already changed (sibling nested txns may put and then delete one key) is read
  // at the revision the transaction began on.
  Status prev_of(std::string_view key, const IndexedKey* cur, const KeyValue& fetched,
                 std::optional<KeyValue>* out) {
    std::optional<IndexedKey> before;
    if (cur != nullptr && cur->state.modified.main > begin_rev_) {
      before = s_.index_.get_latest(key, begin_rev_);
      cur = before ? &*before : nullptr;
    }
    if (cur == nullptr) return Status::OK();
    if (fetched.mod_revision == cur->state.modified.main && fetched.key == key) {
      *out = fetched;
      return Status::OK();
    }
    KeyValue kv;
    KEEL_RETURN_IF_ERROR(fetch_one(cur->state.modified, &kv));
    *out = std::move(kv);
    return Status::OK();
  }

  Status fetch_one(Revision rev, KeyValue* kv) {
    std::vector<KeyValue> out;
    ValueReader reader(s_.overlay_, s_.backend_);
    KEEL_RETURN_IF_ERROR(corrupt_if_missing(reader.fetch({rev}, false, &out)));
    *kv = std::move(out[0]);
    return Status::OK();
  }

  KvStore& s_;
  const int64_t begin_rev_;
  int64_t sub_ = 0;
  std::vector<Event>* events_;
};

namespace {

// The path a txn takes: for each txn on it (depth first), whether its compares held.
using TxnPath = std::vector<bool>;

}  // namespace

Result<PutResponse> KvStore::put(const PutRequest& request, uint64_t index,
                                 std::vector<Event>* events) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  KEEL_RETURN_IF_ERROR(validate(request));
  if (request.lease != 0 && leases_ != nullptr && !leases_->lease_exists(request.lease)) {
    return ErrLeaseNotFound();
  }
  if ((request.ignore_value || request.ignore_lease) &&
      !index_.get(request.key, current_revision())) {
    return ErrKeyNotFound();
  }
  WriteTxn txn(*this, events);
  auto resp = txn.put(request);
  KEEL_RETURN_IF_ERROR(txn.end());
  return resp;
}

Result<DeleteRangeResponse> KvStore::delete_range(const DeleteRangeRequest& request,
                                                  uint64_t index, std::vector<Event>* events) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  KEEL_RETURN_IF_ERROR(validate(request));
  WriteTxn txn(*this, events);
  auto resp = txn.delete_range(request);
  KEEL_RETURN_IF_ERROR(txn.end());
  return resp;
}

Result<DeleteRangeResponse> KvStore::delete_keys(const std::vector<std::string>& keys,
                                                 const WriteBatch& extra, uint64_t index,
                                                 std::vector<Event>* events) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<IndexedKey> live;
  for (const auto& k : sorted) {
    if (auto ik = index_.get_latest(k, current_revision())) live.push_back(std::move(*ik));
  }
  WriteTxn txn(*this, events);
  auto resp = txn.delete_keys(live, false);
  for (const auto& op : extra.ops()) {
    switch (op.type) {
      case WriteBatch::OpType::kPut: extra_.put(op.bucket, op.key, op.value); break;
      case WriteBatch::OpType::kDelete: extra_.erase(op.bucket, op.key); break;
      case WriteBatch::OpType::kDeleteRange: extra_.erase_range(op.bucket, op.key, op.value); break;
    }
  }
  KEEL_RETURN_IF_ERROR(txn.end());
  return resp;
}

namespace {

// The compares of every txn on the taken path, evaluated before any write (etcd's compareToPath).
void txn_path(const TxnRequest& t, const std::function<bool(const Compare&)>& cmp, TxnPath* out) {
  const bool ok = std::all_of(t.compare.begin(), t.compare.end(), cmp);
  out->push_back(ok);
  for (const auto& op : ok ? t.success : t.failure) {
    if (const auto* nested = std::get_if<Box<TxnRequest>>(&op.request)) txn_path(**nested, cmp, out);
  }
}

}  // namespace

Result<TxnResponse> KvStore::txn(const TxnRequest& request, uint64_t index,
                                 std::vector<Event>* events) {
  std::lock_guard lock(write_mu_);
  KEEL_RETURN_IF_ERROR(failed_);
  note_index(index);
  KEEL_RETURN_IF_ERROR(validate(request, options_.max_txn_ops));
  const int64_t rev = current_revision();
  const int64_t compacted = compacted_revision();
  TxnPath path;
  txn_path(request, [&](const Compare& c) { return compare(c, rev); }, &path);

  // Check every op on the path against the view before the txn, so a txn that fails changes
  // nothing (etcd's checkRequests): every put of the path first (nested txns included), then
  // every range, so with faults of both kinds the put's is the answer, as etcd's.
  size_t at = 0;
  std::function<Status(const TxnRequest&, bool)> check = [&](const TxnRequest& t, bool puts) -> Status {
    const bool ok = path[at++];
    for (const auto& op : ok ? t.success : t.failure) {
      if (const auto* p = std::get_if<PutRequest>(&op.request); p != nullptr && puts) {
        if ((p->ignore_value || p->ignore_lease) && !index_.get(p->key, rev)) return ErrKeyNotFound();
        if (p->lease != 0 && leases_ != nullptr && !leases_->lease_exists(p->lease)) {
          return ErrLeaseNotFound();
        }
      } else if (const auto* r = std::get_if<RangeRequest>(&op.request); r != nullptr && !puts) {
        KEEL_RETURN_IF_ERROR(check_txn_range(*r, rev, compacted));
      } else if (const auto* n = std::get_if<Box<TxnRequest>>(&op.request)) {
        KEEL_RETURN_IF_ERROR(check(**n, puts));
      }
    }
    return Status::OK();
  };
  KEEL_RETURN_IF_ERROR(check(request, /*puts=*/true));
  at = 0;
  KEEL_RETURN_IF_ERROR(check(request, /*puts=*/false));

  WriteTxn txn(*this, events);
  at = 0;
  std::function<Result<TxnResponse>(const TxnRequest&)> run =
      [&](const TxnRequest& t) -> Result<TxnResponse> {
    TxnResponse resp;
    resp.succeeded = path[at++];
    for (const auto& op : resp.succeeded ? t.success : t.failure) {
      ResponseOp out;
      if (const auto* p = std::get_if<PutRequest>(&op.request)) {
        auto r = txn.put(*p);
        if (!r.ok()) return r.status();
        out.response = std::move(*r);
      } else if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
        auto r = txn.delete_range(*d);
        if (!r.ok()) return r.status();
        out.response = std::move(*r);
      } else if (const auto* g = std::get_if<RangeRequest>(&op.request)) {
        auto r = range_at(*g, txn.read_rev(), compacted);
        if (!r.ok()) return r.status();
        out.response = std::move(*r);
      } else if (const auto* n = std::get_if<Box<TxnRequest>>(&op.request)) {
        auto r = run(**n);
        if (!r.ok()) return r.status();
        out.response = Box<TxnResponse>(std::move(*r));
      }
      resp.responses.push_back(std::move(out));
    }
    return resp;
  };
  auto resp = run(request);
  if (!resp.ok()) {
    // Past the checks a txn cannot fail but for damage; stop rather than publish half of it.
    failed_ = resp.status().with_context("mvcc: txn failed while applying; the store is stopped");
    return failed_;
  }
  // Only the outer header carries the revision; nested txns' headers stay empty, as in etcd.
  resp->header.revision = txn.changed() ? rev + 1 : rev;
  KEEL_RETURN_IF_ERROR(txn.end());
  return resp;
}

}  // namespace keel::mvcc
