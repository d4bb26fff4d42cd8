// KvStore reads: Range with every option of etcd's RangeRequest (etcd 3.5's applierV3backend.Range
// over mvcc rangeKeys), Compare evaluation, and the events of past revisions.
#include <algorithm>
#include <map>

#include "mvcc/errors.h"
#include "mvcc/kv_codec.h"
#include "mvcc/kv_store.h"
#include "mvcc/revision.h"
#include "mvcc/validate.h"
#include "mvcc/value_reader.h"

namespace keel::mvcc {
namespace {

template <typename Key>
void sort_by(std::vector<KeyValue>* kvs, bool descend, Key key) {
  // Stable, so keys that tie on the target stay in key order (etcd's order for ties is unspecified).
  if (descend) {
    std::stable_sort(kvs->begin(), kvs->end(),
                     [&](const KeyValue& a, const KeyValue& b) { return key(b) < key(a); });
  } else {
    std::stable_sort(kvs->begin(), kvs->end(),
                     [&](const KeyValue& a, const KeyValue& b) { return key(a) < key(b); });
  }
}

void sort_kvs(std::vector<KeyValue>* kvs, SortOrder order, SortTarget target) {
  // etcd: a target other than KEY with no order sorts ascending; KEY ascending is already the order.
  if (target != SortTarget::kKey && order == SortOrder::kNone) order = SortOrder::kAscend;
  if (target == SortTarget::kKey && order == SortOrder::kAscend) order = SortOrder::kNone;
  if (order == SortOrder::kNone) return;
  const bool descend = order == SortOrder::kDescend;
  switch (target) {
    case SortTarget::kKey: sort_by(kvs, descend, [](const KeyValue& kv) -> const std::string& { return kv.key; }); break;
    case SortTarget::kVersion: sort_by(kvs, descend, [](const KeyValue& kv) { return kv.version; }); break;
    case SortTarget::kCreate: sort_by(kvs, descend, [](const KeyValue& kv) { return kv.create_revision; }); break;
    case SortTarget::kMod: sort_by(kvs, descend, [](const KeyValue& kv) { return kv.mod_revision; }); break;
    case SortTarget::kValue: sort_by(kvs, descend, [](const KeyValue& kv) -> const std::string& { return kv.value; }); break;
  }
}

template <typename T>
int cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

bool compare_kv(const Compare& c, const KeyValue& kv) {
  int result = 0;
  switch (c.target) {
    case Compare::Target::kValue: result = cmp(kv.value, c.value); break;
    case Compare::Target::kCreate: result = cmp(kv.create_revision, c.create_revision); break;
    case Compare::Target::kMod: result = cmp(kv.mod_revision, c.mod_revision); break;
    case Compare::Target::kVersion: result = cmp(kv.version, c.version); break;
    case Compare::Target::kLease: result = cmp(kv.lease, c.lease); break;
  }
  switch (c.result) {
    case Compare::Result::kEqual: return result == 0;
    case Compare::Result::kNotEqual: return result != 0;
    case Compare::Result::kGreater: return result > 0;
    case Compare::Result::kLess: return result < 0;
  }
  return true;
}

}  // namespace

Result<RangeResponse> KvStore::range(const RangeRequest& request) const {
  KEEL_RETURN_IF_ERROR(validate(request));
  // A read of the latest revision that a compaction overtook (the reader stalled while the
  // writer went on and compacted past it) simply reads the newer latest revision again.
  for (int attempt = 0;; ++attempt) {
    auto resp = range_at(request, current_revision(), compacted_revision());
    if (resp.ok() || request.revision > 0 || attempt == 3 || !(resp.status() == ErrCompacted())) {
      return resp;
    }
  }
}

Result<RangeResponse> KvStore::range_at(const RangeRequest& r, int64_t cur,
                                        int64_t compacted) const {
  int64_t rev = r.revision;
  if (rev > cur) return ErrFutureRev();
  if (rev <= 0) rev = cur;
  if (rev < compacted) return ErrCompacted();
  const KeyRange range = KeyRange::from(r.key, r.range_end);
  RangeResponse resp;
  resp.header.revision = cur;
  if (r.count_only) {
    resp.count = index_.count(range, rev);
    if (rev < compacted_revision()) return ErrCompacted();
    return resp;
  }
  // As etcd: sorting or filtering needs every key; otherwise one past the limit tells `more`.
  const bool filtered = r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
                        r.min_create_revision != 0 || r.max_create_revision != 0;
  size_t fetch_limit = r.limit > 0 ? static_cast<size_t>(r.limit) : 0;
  if (r.sort_order != SortOrder::kNone || filtered) fetch_limit = 0;
  if (fetch_limit > 0) ++fetch_limit;
  int64_t total = 0;
  std::vector<Revision> revs = index_.revisions(range, rev, fetch_limit, &total);
  // A compaction that overtook this read may have dropped what it should have seen.
  if (rev < compacted_revision()) return ErrCompacted();
  ValueReader reader(overlay_, backend_);
  const bool skip_values = r.keys_only && r.sort_target != SortTarget::kValue;
  Status s = reader.fetch(revs, skip_values, &resp.kvs);
  if (!s.ok()) {
    if (s.is_not_found() && rev < compacted_revision()) return ErrCompacted();
    if (s.is_not_found()) return Status::Corruption(s.message());
    return s;
  }
  auto prune = [&](auto drop) {
    resp.kvs.erase(std::remove_if(resp.kvs.begin(), resp.kvs.end(), drop), resp.kvs.end());
  };
  if (r.max_mod_revision != 0) prune([&](const KeyValue& kv) { return kv.mod_revision > r.max_mod_revision; });
  if (r.min_mod_revision != 0) prune([&](const KeyValue& kv) { return kv.mod_revision < r.min_mod_revision; });
  if (r.max_create_revision != 0) prune([&](const KeyValue& kv) { return kv.create_revision > r.max_create_revision; });
  if (r.min_create_revision != 0) prune([&](const KeyValue& kv) { return kv.create_revision < r.min_create_revision; });
  sort_kvs(&resp.kvs, r.sort_order, r.sort_target);
  if (r.limit > 0 && resp.kvs.size() > static_cast<size_t>(r.limit)) {
    resp.kvs.resize(static_cast<size_t>(r.limit));
    resp.more = true;
  }
  resp.count = total;
  if (r.keys_only) {
    for (auto& kv : resp.kvs) kv.value.clear();
  }
  return resp;
}

Result<TxnResponse> KvStore::read_txn(const TxnRequest& request) const {
  KEEL_RETURN_IF_ERROR(validate(request, options_.max_txn_ops));
  if (txn_writes(request)) return Status::InvalidArgument("mvcc: read_txn was given a txn that writes");
  for (int attempt = 0;; ++attempt) {
    const int64_t rev = current_revision();
    auto resp = read_txn_at(request, rev, compacted_revision());
    // A compaction that overtook the read may have hidden what a compare or range should have
    // seen: read again at the newer revision, as range() does.
    if (rev >= compacted_revision() || attempt == 3) {
      if (resp.ok()) resp->header.revision = rev;
      return resp;
    }
  }
}

Status KvStore::check_txn_range(const RangeRequest& r, int64_t rev, int64_t compacted) {
  const int64_t first = compacted > 0 ? compacted : -1;  // etcd's FirstRev(): -1 before any compaction
  if (r.revision == 0) return Status::OK();
  if (r.revision > rev) return ErrFutureRev();
  if (r.revision < first) return ErrCompacted();
  return Status::OK();
}

Result<TxnResponse> KvStore::read_txn_at(const TxnRequest& t, int64_t rev, int64_t compacted) const {
  TxnResponse resp;
  resp.succeeded = std::all_of(t.compare.begin(), t.compare.end(), [&](const Compare& c) { return compare(c, rev); });
  for (const RequestOp& op : resp.succeeded ? t.success : t.failure) {
    ResponseOp out;
    if (const auto* range = std::get_if<RangeRequest>(&op.request)) {
      KEEL_RETURN_IF_ERROR(check_txn_range(*range, rev, compacted));
      auto r = range_at(*range, rev, compacted);
      if (!r.ok()) return r.status();
      out.response = std::move(*r);
    } else if (const auto* nested = std::get_if<Box<TxnRequest>>(&op.request)) {
      auto r = read_txn_at(**nested, rev, compacted);
      if (!r.ok()) return r.status();
      out.response = Box<TxnResponse>(std::move(*r));
    }
    resp.responses.push_back(std::move(out));
  }
  return resp;
}

bool KvStore::compare(const Compare& c, int64_t read_rev) const {
  const KeyRange range = KeyRange::from(c.key, c.range_end);
  std::vector<Revision> revs = index_.revisions(range, read_rev, 0, nullptr);
  if (revs.empty()) {
    // etcd: a value compare on missing keys always fails (no way to tell a missing value from "").
    if (c.target == Compare::Target::kValue) return false;
    return compare_kv(c, KeyValue{});
  }
  std::vector<KeyValue> kvs;
  ValueReader reader(overlay_, backend_);
  if (!reader.fetch(revs, c.target != Compare::Target::kValue, &kvs).ok()) return false;
  return std::all_of(kvs.begin(), kvs.end(), [&](const KeyValue& kv) { return compare_kv(c, kv); });
}

Result<std::vector<Event>> KvStore::events(int64_t from, int64_t to) const {
  const int64_t cur = current_revision();
  if (to <= 0 || to > cur) to = cur;
  if (from < compacted_revision()) return ErrCompacted();
  std::vector<Event> out;
  if (from > to) return out;
  // Revision key -> encoded value; the overlay first (see overlay.h), then the Backend, so a
  // revision committed in between is met twice and kept once.
  std::map<std::string, std::string> found;
  const std::string begin = encode_revision_key(Revision{from, 0});
  const std::string end = encode_revision_key(Revision{to + 1, 0});
  overlay_.for_each([&](const Overlay::Entry& e) {
    if (e.rev.main >= from && e.rev.main <= to) {
      found.emplace(encode_revision_key(e.rev, e.tombstone), e.value);
    }
  });
  auto tx = backend_.begin_read();
  if (!tx.ok()) return tx.status();
  auto c = (*tx)->cursor(kKeyBucket);
  if (!c.ok()) return c.status();
  for ((*c)->seek(begin); (*c)->valid() && (*c)->key() < end; (*c)->next()) {
    found.emplace(std::string((*c)->key()), std::string((*c)->value()));
  }
  KEEL_RETURN_IF_ERROR((*c)->status());
  for (const auto& [k, v] : found) {
    auto rk = decode_revision_key(k);
    if (!rk.ok()) return rk.status();
    Event e;
    KEEL_RETURN_IF_ERROR(decode_key_value(v, &e.kv));
    if (rk->tombstone) {
      e.type = Event::Type::kDelete;
      e.kv = KeyValue{e.kv.key, 0, rk->rev.main, 0, {}, 0};
    }
    out.push_back(std::move(e));
  }
  if (from < compacted_revision()) return ErrCompacted();
  return out;
}

}  // namespace keel::mvcc
