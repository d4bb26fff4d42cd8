// KvStore against the real backend plugins: revisions, every Range option, Put options, DeleteRange,
// Txn, compaction, HashKV, batching with the applied index, restart and etcd's errors.
#include <gtest/gtest.h>

#include <thread>

#include "mvcc/errors.h"
#include "mvcc/kv_codec.h"
#include "mvcc/revision.h"
#include "mvcc_test_util.h"

namespace keel::mvcc::testing {
namespace {

using namespace std::string_literals;

class KvStoreTest : public StoreTest {
 protected:
  int64_t put(const std::string& k, const std::string& v, int64_t lease = 0) {
    PutRequest r;
    r.key = k;
    r.value = v;
    r.lease = lease;
    auto resp = store().put(r, ++index_);
    EXPECT_TRUE(resp.ok()) << resp.status().to_string();
    return resp.ok() ? resp->header.revision : -1;
  }
  int64_t del(const std::string& k, const std::string& end = "") {
    DeleteRangeRequest r;
    r.key = k;
    r.range_end = end;
    auto resp = store().delete_range(r, ++index_);
    EXPECT_TRUE(resp.ok()) << resp.status().to_string();
    return resp.ok() ? resp->deleted : -1;
  }
  RangeResponse get(RangeRequest r) {
    auto resp = store().range(r);
    EXPECT_TRUE(resp.ok()) << resp.status().to_string();
    return resp.ok() ? *resp : RangeResponse{};
  }
  std::vector<std::string> keys(const std::string& k, const std::string& end, int64_t rev = 0) {
    RangeRequest r;
    r.key = k;
    r.range_end = end;
    r.revision = rev;
    std::vector<std::string> out;
    for (const auto& kv : get(r).kvs) out.push_back(kv.key);
    return out;
  }
  std::vector<std::string> keys_of(const RangeResponse& r) {
    std::vector<std::string> out;
    for (const auto& kv : r.kvs) out.push_back(kv.key);
    return out;
  }
  uint64_t index_ = 0;
};

void expect_error(const Status& s, Status::Code code, const std::string& text) {
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_EQ(s.message(), text);
}

TEST_P(KvStoreTest, RevisionsVersionsAndGenerations) {
  EXPECT_EQ(store().current_revision(), 1);  // as etcd: the first write is 2
  EXPECT_EQ(put("a", "1"), 2);
  EXPECT_EQ(put("a", "2"), 3);
  EXPECT_EQ(put("b", "x"), 4);
  RangeRequest r;
  r.key = "a";
  auto kv = get(r).kvs.at(0);
  EXPECT_EQ(kv, (KeyValue{"a", 2, 3, 2, "2", 0}));
  EXPECT_EQ(del("a"), 1);
  EXPECT_EQ(store().current_revision(), 5);
  EXPECT_TRUE(get(r).kvs.empty());
  EXPECT_EQ(put("a", "3"), 6);
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"a", 6, 6, 1, "3", 0}));
  // History stays readable.
  r.revision = 3;
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"a", 2, 3, 2, "2", 0}));
  r.revision = 5;
  EXPECT_TRUE(get(r).kvs.empty());
  r.revision = 2;
  EXPECT_EQ(get(r).kvs.at(0).value, "1");
  r.revision = 1;
  EXPECT_TRUE(get(r).kvs.empty());
  // A delete of nothing writes nothing.
  EXPECT_EQ(del("zzz"), 0);
  EXPECT_EQ(store().current_revision(), 6);
}

TEST_P(KvStoreTest, RangeEndForms) {
  for (const char* k : {"a", "ab", "abc", "b", "c", "\xff"}) put(k, "v");
  EXPECT_EQ(keys("ab", ""), (std::vector<std::string>{"ab"}));
  EXPECT_EQ(keys("a", "b"), (std::vector<std::string>{"a", "ab", "abc"}));
  EXPECT_EQ(keys("ab", "ac"), (std::vector<std::string>{"ab", "abc"}));  // prefix "ab"
  EXPECT_EQ(keys("b", "\0"s), (std::vector<std::string>{"b", "c", "\xff"}));
  EXPECT_EQ(keys("\0"s, "\0"s), (std::vector<std::string>{"a", "ab", "abc", "b", "c", "\xff"}));
  EXPECT_TRUE(keys("c", "a").empty());
  EXPECT_TRUE(keys("nope", "").empty());
}

TEST_P(KvStoreTest, LimitCountAndMore) {
  for (const char* k : {"a", "b", "c", "d"}) put(k, "v");
  RangeRequest r;
  r.key = "a";
  r.range_end = "z";
  r.limit = 2;
  auto resp = get(r);
  EXPECT_EQ(keys_of(resp), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(resp.more);
  EXPECT_EQ(resp.count, 4);
  r.limit = 4;
  resp = get(r);
  EXPECT_FALSE(resp.more);
  EXPECT_EQ(resp.count, 4);
  r.limit = 0;
  resp = get(r);
  EXPECT_EQ(resp.kvs.size(), 4u);
  EXPECT_FALSE(resp.more);
  EXPECT_EQ(resp.header.revision, 5);
}

TEST_P(KvStoreTest, SortEveryTargetAndOrder) {
  put("a", "3");
  put("b", "1");
  put("b", "2");  // b: version 2, mod 3
  put("c", "2");
  RangeRequest r;
  r.key = "a";
  r.range_end = "z";
  auto sorted = [&](SortTarget t, SortOrder o) {
    r.sort_target = t;
    r.sort_order = o;
    return keys_of(get(r));
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sorted(SortTarget::kKey, SortOrder::kNone), (V{"a", "b", "c"}));
  EXPECT_EQ(sorted(SortTarget::kKey, SortOrder::kDescend), (V{"c", "b", "a"}));
  EXPECT_EQ(sorted(SortTarget::kValue, SortOrder::kAscend), (V{"b", "c", "a"}));
  EXPECT_EQ(sorted(SortTarget::kValue, SortOrder::kDescend), (V{"a", "b", "c"}));  // tie: key order
  EXPECT_EQ(sorted(SortTarget::kValue, SortOrder::kNone), (V{"b", "c", "a"}));  // NONE = ascend
  EXPECT_EQ(sorted(SortTarget::kVersion, SortOrder::kDescend), (V{"b", "a", "c"}));
  EXPECT_EQ(sorted(SortTarget::kCreate, SortOrder::kDescend), (V{"c", "b", "a"}));
  EXPECT_EQ(sorted(SortTarget::kMod, SortOrder::kAscend), (V{"a", "b", "c"}));
  EXPECT_EQ(sorted(SortTarget::kMod, SortOrder::kDescend), (V{"c", "b", "a"}));
  // Sorting happens before the limit.
  r.limit = 1;
  EXPECT_EQ(sorted(SortTarget::kKey, SortOrder::kDescend), (V{"c"}));
  EXPECT_TRUE(get(r).more);
}

TEST_P(KvStoreTest, KeysOnlyCountOnlyAndFilters) {
  put("a", "1");
  put("b", "2");
  put("a", "3");
  put("c", "4");
  RangeRequest r;
  r.key = "a";
  r.range_end = "z";
  r.keys_only = true;
  auto resp = get(r);
  ASSERT_EQ(resp.kvs.size(), 3u);
  for (const auto& kv : resp.kvs) EXPECT_TRUE(kv.value.empty());
  EXPECT_EQ(resp.kvs[0].mod_revision, 4);
  r.keys_only = false;
  r.count_only = true;
  resp = get(r);
  EXPECT_TRUE(resp.kvs.empty());
  EXPECT_EQ(resp.count, 3);
  r.count_only = false;
  r.min_mod_revision = 4;
  resp = get(r);
  EXPECT_EQ(keys_of(resp), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(resp.count, 3);  // count is taken before the filters, as etcd does
  r.min_mod_revision = 0;
  r.max_mod_revision = 3;
  EXPECT_EQ(keys_of(get(r)), (std::vector<std::string>{"b"}));
  r.max_mod_revision = 0;
  r.min_create_revision = 3;
  EXPECT_EQ(keys_of(get(r)), (std::vector<std::string>{"b", "c"}));
  r.min_create_revision = 0;
  r.max_create_revision = 2;
  EXPECT_EQ(keys_of(get(r)), (std::vector<std::string>{"a"}));
  r.limit = 1;
  r.max_create_revision = 5;
  resp = get(r);
  EXPECT_EQ(keys_of(resp), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(resp.more);
}

TEST_P(KvStoreTest, RevisionErrors) {
  put("a", "1");
  put("a", "2");
  put("a", "3");
  RangeRequest r;
  r.key = "a";
  r.revision = 5;
  expect_error(store().range(r).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision is a future revision");
  r.revision = -5;
  EXPECT_EQ(get(r).kvs.at(0).value, "3");
  ASSERT_OK_R(store().compact(3, ++index_));
  r.revision = 2;
  expect_error(store().range(r).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision has been compacted");
  r.revision = 3;
  EXPECT_EQ(get(r).kvs.at(0).value, "2");
  expect_error(store().compact(3, ++index_).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision has been compacted");
  expect_error(store().compact(9, ++index_).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision is a future revision");
}

TEST_P(KvStoreTest, PutOptionsAndErrors) {
  PutRequest p;
  p.key = "k";
  p.value = "v1";
  p.lease = 7;
  ASSERT_OK_R(store().put(p, ++index_));
  p.value = "v2";
  p.lease = 0;
  p.prev_kv = true;
  auto resp = store().put(p, ++index_);
  ASSERT_OK_R(resp);
  ASSERT_TRUE(resp->prev_kv.has_value());
  EXPECT_EQ(*resp->prev_kv, (KeyValue{"k", 2, 2, 1, "v1", 7}));
  PutRequest keep;
  keep.key = "k";
  keep.ignore_value = true;
  keep.lease = 9;
  ASSERT_OK_R(store().put(keep, ++index_));
  RangeRequest r;
  r.key = "k";
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"k", 2, 4, 3, "v2", 9}));
  PutRequest keep_lease;
  keep_lease.key = "k";
  keep_lease.value = "v3";
  keep_lease.ignore_lease = true;
  ASSERT_OK_R(store().put(keep_lease, ++index_));
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"k", 2, 5, 4, "v3", 9}));

  const int64_t rev = store().current_revision();
  PutRequest bad;
  bad.key = "";
  expect_error(store().put(bad, ++index_).status(), Status::Code::kInvalidArgument,
               "etcdserver: key is not provided");
  bad.key = "missing";
  bad.ignore_value = true;
  expect_error(store().put(bad, ++index_).status(), Status::Code::kInvalidArgument,
               "etcdserver: key not found");
  bad.value = "x";
  expect_error(store().put(bad, ++index_).status(), Status::Code::kInvalidArgument,
               "etcdserver: value is provided");
  bad = PutRequest{};
  bad.key = "k";
  bad.ignore_lease = true;
  bad.lease = 3;
  expect_error(store().put(bad, ++index_).status(), Status::Code::kInvalidArgument,
               "etcdserver: lease is provided");
  EXPECT_EQ(store().current_revision(), rev);  // refused writes change nothing
  EXPECT_EQ(store().consistent_index(), index_);  // but their entries count as applied
}

TEST_P(KvStoreTest, EmptyKeysRefused) {
  const Status empty = ErrEmptyKey();
  EXPECT_EQ(store().range(RangeRequest{}).status(), empty);
  EXPECT_EQ(store().delete_range(DeleteRangeRequest{}, 1).status(), empty);
  TxnRequest t;
  t.compare.push_back(Compare{});
  EXPECT_EQ(store().txn(t, 2).status(), empty);
  EXPECT_EQ(empty.code(), Status::Code::kInvalidArgument);
}

TEST_P(KvStoreTest, DeleteRangeWithPrevKv) {
  put("a", "1");
  put("b", "2");
  put("c", "3");
  DeleteRangeRequest d;
  d.key = "a";
  d.range_end = "c";
  d.prev_kv = true;
  auto resp = store().delete_range(d, ++index_);
  ASSERT_OK_R(resp);
  EXPECT_EQ(resp->deleted, 2);
  EXPECT_EQ(resp->header.revision, 5);
  ASSERT_EQ(resp->prev_kvs.size(), 2u);
  EXPECT_EQ(resp->prev_kvs[1], (KeyValue{"b", 3, 3, 1, "2", 0}));
  EXPECT_EQ(keys("\0"s, "\0"s), (std::vector<std::string>{"c"}));
}

Compare cmp(Compare::Target target, Compare::Result result, const std::string& key) {
  Compare c;
  c.target = target;
  c.result = result;
  c.key = key;
  return c;
}

RequestOp put_op(const std::string& k, const std::string& v) {
  PutRequest p;
  p.key = k;
  p.value = v;
  return RequestOp{p};
}

RequestOp del_op(const std::string& k, const std::string& end = "") {
  DeleteRangeRequest d;
  d.key = k;
  d.range_end = end;
  return RequestOp{d};
}

RequestOp get_op(const std::string& k, const std::string& end = "") {
  RangeRequest r;
  r.key = k;
  r.range_end = end;
  return RequestOp{r};
}

TEST_P(KvStoreTest, TxnComparesEveryTargetAndResult) {
  put("a", "v");  // rev 1
  put("a", "w");  // rev 2, version 2
  PutRequest leased;
  leased.key = "b";
  leased.value = "x";
  leased.lease = 5;
  ASSERT_OK_R(store().put(leased, ++index_));  // rev 3
  using T = Compare::Target;
  using R = Compare::Result;
  auto holds = [&](Compare c) {
    TxnRequest t;
    t.compare.push_back(c);
    auto resp = store().txn(t, ++index_);
    EXPECT_TRUE(resp.ok()) << resp.status().to_string();
    return resp.ok() && resp->succeeded;
  };
  Compare c = cmp(T::kValue, R::kEqual, "a");
  c.value = "w";
  EXPECT_TRUE(holds(c));
  c.result = R::kGreater;
  c.value = "v";
  EXPECT_TRUE(holds(c));
  c.result = R::kLess;
  EXPECT_FALSE(holds(c));
  c.result = R::kNotEqual;
  EXPECT_TRUE(holds(c));
  c = cmp(T::kVersion, R::kEqual, "a");
  c.version = 2;
  EXPECT_TRUE(holds(c));
  c = cmp(T::kCreate, R::kEqual, "a");
  c.create_revision = 2;
  EXPECT_TRUE(holds(c));
  c = cmp(T::kMod, R::kLess, "a");
  c.mod_revision = 4;
  EXPECT_TRUE(holds(c));
  c = cmp(T::kLease, R::kEqual, "b");
  c.lease = 5;
  EXPECT_TRUE(holds(c));
  // A missing key: version, create and mod are 0; a value compare always fails.
  c = cmp(T::kVersion, R::kEqual, "missing");
  EXPECT_TRUE(holds(c));
  c = cmp(T::kValue, R::kEqual, "missing");
  EXPECT_FALSE(holds(c));
  c.result = R::kNotEqual;
  EXPECT_FALSE(holds(c));
  // range_end: every key in the range must satisfy it.
  c = cmp(T::kMod, R::kGreater, "a");
  c.range_end = "c";
  c.mod_revision = 2;
  EXPECT_TRUE(holds(c));
  c.mod_revision = 3;
  EXPECT_FALSE(holds(c));
  // Compares alone never advance the revision.
  EXPECT_EQ(store().current_revision(), 4);
}

TEST_P(KvStoreTest, TxnIsOneRevisionAndReadsItsOwnWrites) {
  put("a", "1");
  TxnRequest t;
  Compare c = cmp(Compare::Target::kValue, Compare::Result::kEqual, "a");
  c.value = "1";
  t.compare.push_back(c);
  t.success = {put_op("b", "2"), get_op("b"), del_op("a"), put_op("c", "3"), get_op("a", "z")};
  t.failure = {put_op("never", "x")};
  std::vector<Event> events;
  auto resp = store().txn(t, ++index_, &events);
  ASSERT_OK_R(resp);
  EXPECT_TRUE(resp->succeeded);
  EXPECT_EQ(resp->header.revision, 3);
  EXPECT_EQ(store().current_revision(), 3);
  ASSERT_EQ(resp->responses.size(), 5u);
  const auto& got_b = std::get<RangeResponse>(resp->responses[1].response);
  ASSERT_EQ(got_b.kvs.size(), 1u);
  EXPECT_EQ(got_b.kvs[0], (KeyValue{"b", 3, 3, 1, "2", 0}));
  const auto& all = std::get<RangeResponse>(resp->responses[4].response);
  EXPECT_EQ(keys_of(all), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(std::get<DeleteRangeResponse>(resp->responses[2].response).deleted, 1);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[1].type, Event::Type::kDelete);
  EXPECT_EQ(events[1].kv.mod_revision, 3);
  // The failure branch; a read-only txn does not advance the revision.
  t.success.clear();
  t.failure = {get_op("b")};
  resp = store().txn(t, ++index_);
  ASSERT_OK_R(resp);
  EXPECT_FALSE(resp->succeeded);
  EXPECT_EQ(resp->header.revision, 3);
  EXPECT_EQ(store().current_revision(), 3);
}

TEST_P(KvStoreTest, NestedTxn) {
  put("a", "1");
  TxnRequest inner;
  Compare c = cmp(Compare::Target::kVersion, Compare::Result::kEqual, "a");
  c.version = 1;
  inner.compare.push_back(c);
  inner.success = {put_op("x", "then")};
  inner.failure = {put_op("x", "else")};  // then and else may name the same key
  TxnRequest outer;
  outer.success = {RequestOp{Box<TxnRequest>(inner)}, put_op("y", "1")};
  auto resp = store().txn(outer, ++index_);
  ASSERT_OK_R(resp);
  ASSERT_EQ(resp->responses.size(), 2u);
  const auto& nested = *std::get<Box<TxnResponse>>(resp->responses[0].response);
  EXPECT_TRUE(nested.succeeded);
  EXPECT_EQ(nested.header.revision, 0);  // etcd leaves nested txns' headers empty
  EXPECT_EQ(resp->header.revision, 3);
  RangeRequest r;
  r.key = "x";
  EXPECT_EQ(get(r).kvs.at(0).value, "then");
  EXPECT_EQ(get(r).kvs.at(0).mod_revision, 3);
}

// etcd's checkRequestRange: a Range in a txn below the first revision the store holds is
// refused as compacted, negative revisions too (-1 is etcd's first revision until a compaction);
// and every put of the path is checked before any range (etcd's checkRequests order).
TEST_P(KvStoreTest, ATxnRangesNegativeRevisionAndTheOrderOfItsFaultsAreEtcds) {
  put("a", "1");
  put("a", "2");
  put("a", "3");
  RangeRequest minus_one;
  minus_one.key = "a";
  minus_one.revision = -1;
  TxnRequest t;
  t.success = {RequestOp{minus_one}};
  auto served = store().txn(t, ++index_);
  ASSERT_OK_R(served);  // nothing compacted yet: read at the current revision
  RangeRequest minus_five = minus_one;
  minus_five.revision = -5;
  t.success = {RequestOp{minus_five}};
  expect_error(store().txn(t, ++index_).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision has been compacted");
  ASSERT_OK_R(store().compact(3, ++index_));
  t.success = {RequestOp{minus_one}};
  expect_error(store().txn(t, ++index_).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision has been compacted");
  // A compacted range first, a put of a missing key with ignore_value after: the put's fault.
  RangeRequest old = minus_one;
  old.revision = 2;
  PutRequest p;
  p.key = "missing";
  p.ignore_value = true;
  t.success = {RequestOp{old}, RequestOp{p}};
  expect_error(store().txn(t, ++index_).status(), Status::Code::kInvalidArgument, "etcdserver: key not found");
  EXPECT_EQ(store().current_revision(), 4);
}

TEST_P(KvStoreTest, TxnRefusalsChangeNothing) {
  put("a", "1");
  auto refused = [&](TxnRequest t, Status::Code code, const std::string& text) {
    expect_error(store().txn(t, ++index_).status(), code, text);
    EXPECT_EQ(store().current_revision(), 2);
  };
  TxnRequest t;
  t.success = {put_op("k", "1"), put_op("k", "2")};
  refused(t, Status::Code::kInvalidArgument, "etcdserver: duplicate key given in txn request");
  t.success = {del_op("a", "z"), put_op("b", "2")};
  refused(t, Status::Code::kInvalidArgument, "etcdserver: duplicate key given in txn request");
  t.success = {del_op("a", "\0"s), put_op("zz", "2")};
  refused(t, Status::Code::kInvalidArgument, "etcdserver: duplicate key given in txn request");
  TxnRequest inner;
  inner.success = {put_op("a", "2")};
  t.success = {RequestOp{Box<TxnRequest>(inner)}, put_op("a", "3")};
  refused(t, Status::Code::kInvalidArgument, "etcdserver: duplicate key given in txn request");
  t.success = {del_op("a"), del_op("a", "b")};  // overlapping deletes are allowed
  t.failure = {};
  t.success.push_back(RequestOp{});
  refused(t, Status::Code::kInvalidArgument, "etcdserver: key not found");
  t.success = std::vector<RequestOp>(129, get_op("a"));
  refused(t, Status::Code::kInvalidArgument, "etcdserver: too many operations in txn request");
  // A put that cannot apply stops the whole txn before anything is written.
  PutRequest p;
  p.key = "missing";
  p.ignore_value = true;
  t.success = {put_op("b", "1"), RequestOp{p}};
  refused(t, Status::Code::kInvalidArgument, "etcdserver: key not found");
  RangeRequest future;
  future.key = "a";
  future.revision = 6;
  t.success = {put_op("b", "1"), RequestOp{future}};
  refused(t, Status::Code::kOutOfRange, "etcdserver: mvcc: required revision is a future revision");
  // Overlapping deletes alone are fine.
  t.success = {del_op("a"), del_op("a", "b")};
  auto ok = store().txn(t, ++index_);
  ASSERT_OK_R(ok);
  EXPECT_EQ(store().current_revision(), 3);
}

TEST_P(KvStoreTest, CompactionPurgesTheBackendInBatches) {
  StoreOptions o = options_;
  o.compaction_batch_limit = 3;
  reopen(o);
  for (int i = 0; i < 10; ++i) put("k" + std::to_string(i % 3), std::to_string(i));  // revs 2..11
  del("k0");                                                                     // rev 12
  put("k0", "again");                                                             // rev 13
  auto stored = [&] {
    auto tx = backend_->begin_read();
    auto c = (*tx)->cursor(kKeyBucket);
    size_t n = 0;
    for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) ++n;
    return n;
  };
  ASSERT_OK(store().force_commit());
  EXPECT_EQ(stored(), 12u);
  ASSERT_OK_R(store().compact(12, ++index_));
  ASSERT_OK(store().wait_compaction());
  // Kept: k1@9, k2@10 (visible at 12) and k0@13; k0's tombstone at 12 ends its old life.
  EXPECT_EQ(stored(), 3u);
  EXPECT_EQ(keys("\0"s, "\0"s), (std::vector<std::string>{"k0", "k1", "k2"}));
  RangeRequest r;
  r.key = "k1";
  r.revision = 12;
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"k1", 3, 9, 3, "7", 0}));
  // Versions survive compaction and restart.
  reopen();
  EXPECT_EQ(store().compacted_revision(), 12);
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"k1", 3, 9, 3, "7", 0}));
  put("k1", "x");
  r.revision = 0;
  EXPECT_EQ(get(r).kvs.at(0).version, 4);
  EXPECT_EQ(store().current_revision(), 14);
}

TEST_P(KvStoreTest, UnfinishedCompactionResumesAtOpen) {
  for (int i = 0; i < 5; ++i) put("k", std::to_string(i));
  ASSERT_OK(store().force_commit());
  // A compaction scheduled but not run: as if the member stopped right after scheduling it.
  WriteBatch b;
  std::string v;
  append_u64_be(&v, 5);
  b.put(kMetaBucket, kScheduledCompactKey, v);
  close_all();
  open_all();  // nothing compacted yet
  store_.reset();
  ASSERT_OK(backend_->commit(b, true));
  auto s = KvStore::open(*backend_, options_);
  ASSERT_OK_R(s);
  store_ = std::move(*s);
  EXPECT_EQ(store().compacted_revision(), 5);
  ASSERT_OK(store().wait_compaction());
  auto tx = backend_->begin_read();
  std::string value;
  EXPECT_TRUE((*tx)->get(kMetaBucket, kFinishedCompactKey, &value).ok());
  auto c = (*tx)->cursor(kKeyBucket);
  size_t n = 0;
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) ++n;
  EXPECT_EQ(n, 2u);  // revisions 5 and 6
}

TEST_P(KvStoreTest, HashKvIsAFunctionOfHistory) {
  TempDir other_dir;
  BackendOptions o;
  o.dir = other_dir.path() + "/store";
  auto other_backend = plugin_->open(o);
  ASSERT_OK_R(other_backend);
  auto other = KvStore::open(**other_backend, options_);
  ASSERT_OK_R(other);
  auto both = [&](auto f) {
    f(store());
    f(**other);
  };
  both([](KvStore& s) {
    for (int i = 0; i < 20; ++i) {
      PutRequest p;
      p.key = "k" + std::to_string(i % 4);
      p.value = std::to_string(i);
      ASSERT_OK_R(s.put(p, static_cast<uint64_t>(i + 1)));
    }
  });
  ASSERT_OK(store().force_commit());  // one committed, the other still in its overlay
  auto h1 = store().hash_kv(0);
  auto h2 = (*other)->hash_kv(0);
  ASSERT_OK_R(h1);
  ASSERT_OK_R(h2);
  EXPECT_EQ(h1->hash, h2->hash);
  EXPECT_EQ(h1->header.revision, 21);
  EXPECT_EQ(h1->compact_revision, -1);
  auto h10 = store().hash_kv(10);
  ASSERT_OK_R(h10);
  EXPECT_NE(h10->hash, h1->hash);
  both([](KvStore& s) {
    ASSERT_OK_R(s.compact(10, 21));
    ASSERT_OK(s.wait_compaction());
  });
  auto c1 = store().hash_kv(15);
  auto c2 = (*other)->hash_kv(15);
  ASSERT_OK_R(c1);
  ASSERT_OK_R(c2);
  EXPECT_EQ(c1->hash, c2->hash);
  EXPECT_EQ(c1->compact_revision, 10);
  expect_error(store().hash_kv(10).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision has been compacted");
  expect_error(store().hash_kv(22).status(), Status::Code::kOutOfRange,
               "etcdserver: mvcc: required revision is a future revision");
  PutRequest p;
  p.key = "diverge";
  ASSERT_OK_R(store().put(p, 22));
  ASSERT_OK_R((*other)->put(PutRequest{"diverge", "x", 0, false, false, false}, 22));
  EXPECT_NE(store().hash_kv(0)->hash, (*other)->hash_kv(0)->hash);
  ASSERT_OK((*other)->close());
}

// etcd's own answers (Debian's etcd 3.4.23, tests/integration/py/etcd_differential_test.py runs
// both side by side): the values are hashed as etcd stores them, so the hashes are etcd's.
TEST_P(KvStoreTest, HashKvIsEtcds) {
  auto empty = store().hash_kv(0);
  ASSERT_OK_R(empty);
  EXPECT_EQ(empty->hash, 1084519789u);  // CRC-32C of "key" alone
  ASSERT_OK_R(store().put(PutRequest{"a", "1", 0, false, false, false}, 1));
  auto one = store().hash_kv(0);
  ASSERT_OK_R(one);
  EXPECT_EQ(one->header.revision, 2);
  EXPECT_EQ(one->hash, 2587454935u);
}

TEST_P(KvStoreTest, ReadsSeeAppliedWritesBeforeTheCommit) {
  StoreOptions o = options_;
  o.batch_limit = 1000;
  reopen(o);
  put("a", "1");
  put("b", "2");
  EXPECT_EQ(keys("\0"s, "\0"s), (std::vector<std::string>{"a", "b"}));
  auto in_backend = [&](const std::string& bucket, const std::string& key) {
    auto tx = backend_->begin_read();
    std::string v;
    return (*tx)->get(bucket, key, &v).ok();
  };
  EXPECT_FALSE(in_backend(kKeyBucket, encode_revision_key(Revision{2, 0})));
  EXPECT_FALSE(in_backend(kMetaBucket, kConsistentIndexKey));
  ASSERT_OK(store().force_commit());
  EXPECT_TRUE(in_backend(kKeyBucket, encode_revision_key(Revision{3, 0})));
  auto tx = backend_->begin_read();
  std::string v;
  ASSERT_OK((*tx)->get(kMetaBucket, kConsistentIndexKey, &v));
  EXPECT_EQ(read_u64_be(v), 2u);
  EXPECT_EQ(keys("\0"s, "\0"s), (std::vector<std::string>{"a", "b"}));
}

TEST_P(KvStoreTest, CommitsByCountCarryTheAppliedIndex) {
  StoreOptions o = options_;
  o.batch_limit = 4;
  reopen(o);
  for (int i = 0; i < 9; ++i) put("k" + std::to_string(i), "v");
  {
    auto tx = backend_->begin_read();
    std::string v;
    ASSERT_OK((*tx)->get(kMetaBucket, kConsistentIndexKey, &v));
    EXPECT_EQ(read_u64_be(v), 8u);  // two batches of four; the ninth waits
  }
  store().set_consistent_index(42);
  reopen();
  EXPECT_EQ(store().consistent_index(), 42u);
  EXPECT_EQ(store().current_revision(), 10);
}

TEST_P(KvStoreTest, TimedCommits) {
  StoreOptions o = options_;
  o.batch_interval = std::chrono::milliseconds(5);
  reopen(o);
  put("a", "1");
  bool committed = false;
  for (int i = 0; i < 400 && !committed; ++i) {
    auto tx = backend_->begin_read();
    std::string v;
    committed = (*tx)->get(kKeyBucket, encode_revision_key(Revision{2, 0}), &v).ok();
    if (!committed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(committed);
}

TEST_P(KvStoreTest, RestartKeepsEverything) {
  put("a", "1");
  put("b", "2");
  del("a");
  put("a", "3");
  ASSERT_OK_R(store().compact(3, ++index_));
  put("c", "4");
  auto before = store().hash_kv(0);
  reopen();
  EXPECT_EQ(store().current_revision(), 6);
  EXPECT_EQ(store().compacted_revision(), 3);
  EXPECT_EQ(store().consistent_index(), index_);
  RangeRequest r;
  r.key = "a";
  EXPECT_EQ(get(r).kvs.at(0), (KeyValue{"a", 5, 5, 1, "3", 0}));
  r.revision = 4;
  EXPECT_TRUE(get(r).kvs.empty());
  EXPECT_EQ(store().hash_kv(0)->hash, before->hash);
}

TEST_P(KvStoreTest, GarbageInTheKeyBucketIsCorruption) {
  put("a", "1");
  close_all();
  BackendOptions o;
  o.dir = dir_.path() + "/store";
  auto b = plugin_->open(o);
  ASSERT_OK_R(b);
  WriteBatch w;
  w.put(kKeyBucket, encode_revision_key(Revision{3, 0}), "\x01\x7f");
  ASSERT_OK((*b)->commit(w, true));
  auto s = KvStore::open(**b, options_);
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption) << s.status().to_string();
  WriteBatch w2;
  w2.erase(kKeyBucket, encode_revision_key(Revision{3, 0}));
  w2.put(kKeyBucket, "short", encode_key_value(KeyValue{"x", 1, 1, 1, "", 0}));
  ASSERT_OK((*b)->commit(w2, true));
  s = KvStore::open(**b, options_);
  EXPECT_EQ(s.status().code(), Status::Code::kCorruption) << s.status().to_string();
  WriteBatch w3;
  w3.erase(kKeyBucket, "short");
  ASSERT_OK((*b)->commit(w3, true));
  b->reset();
  open_all();
}

TEST_P(KvStoreTest, EventsOfPastRevisions) {
  put("a", "1");
  put("b", "2");
  ASSERT_OK(store().force_commit());
  del("a");
  auto ev = store().events(3, 0);
  ASSERT_OK_R(ev);
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].type, Event::Type::kPut);
  EXPECT_EQ((*ev)[0].kv, (KeyValue{"b", 3, 3, 1, "2", 0}));
  EXPECT_EQ((*ev)[1].type, Event::Type::kDelete);
  EXPECT_EQ((*ev)[1].kv.key, "a");
  EXPECT_EQ((*ev)[1].kv.mod_revision, 4);
  ASSERT_OK_R(store().compact(3, ++index_));
  EXPECT_EQ(store().events(2, 0).status(), ErrCompacted());
  // From the compacted revision itself: what the compaction kept of it (etcd's rule).
  ev = store().events(3, 0);
  ASSERT_OK_R(ev);
  ASSERT_EQ(ev->size(), 2u);
  EXPECT_EQ((*ev)[0].kv, (KeyValue{"b", 3, 3, 1, "2", 0}));
  EXPECT_EQ((*ev)[1].type, Event::Type::kDelete);
}

TEST_P(KvStoreTest, ConcurrentReadersSeeWholeRevisions) {
  StoreOptions o = options_;
  o.batch_limit = 7;
  o.compaction_batch_limit = 5;
  reopen(o);
  // Each txn writes the same value to k0..k3, so a reader must see four equal values.
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  // One reader reads the latest revision; the other reads history, racing the compactions: it
  // must get either a whole revision or ErrCompacted.
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      uint64_t n = 0;
      while (!stop) {
        RangeRequest r;
        r.key = "k";
        r.range_end = "l";
        if (t == 1) {
          const int64_t lo = std::max<int64_t>(2, store().compacted_revision());
          const int64_t hi = store().current_revision();
          if (hi < lo) continue;
          r.revision = lo + static_cast<int64_t>(++n % static_cast<uint64_t>(hi - lo + 1));
        }
        auto resp = store().range(r);
        if (!resp.ok()) {
          if (t == 1 && resp.status() == ErrCompacted()) continue;
          ADD_FAILURE() << resp.status().to_string();
          ++bad;
          continue;
        }
        ++reads;
        if (resp->kvs.empty()) continue;
        const int64_t at = r.revision > 0 ? r.revision : resp->header.revision;
        bool whole = resp->kvs.size() == 4;
        for (const auto& kv : resp->kvs) {
          whole = whole && kv.value == resp->kvs[0].value && kv.mod_revision == at;
        }
        if (!whole) {
          ++bad;
          ADD_FAILURE() << "a read at " << resp->header.revision << " saw " << resp->kvs.size()
                        << " keys, the first " << resp->kvs[0].key << "@" << resp->kvs[0].mod_revision;
        }
      }
    });
  }
  for (int i = 1; i <= 200; ++i) {
    TxnRequest t;
    for (int k = 0; k < 4; ++k) t.success.push_back(put_op("k" + std::to_string(k), std::to_string(i)));
    ASSERT_OK_R(store().txn(t, ++index_));
    if (i % 50 == 0) ASSERT_OK_R(store().compact(i - 10, ++index_));
  }
  while (reads < 100) std::this_thread::yield();
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(bad, 0);
}

// Forwards every call to the real backend; commits fail once `fail` is set, as a full disk would.
class FailingBackend : public Backend {
 public:
  explicit FailingBackend(Backend& target) : t_(target) {}
  Status create_bucket(std::string_view b) override { return t_.create_bucket(b); }
  Result<std::unique_ptr<BackendReadTx>> begin_read() override { return t_.begin_read(); }
  Status commit(const WriteBatch& batch, bool sync) override {
    ++commits;
    if (fail) return Status::IOError("no space left on device");
    return t_.commit(batch, sync);
  }
  Result<BackendStats> stats() override { return t_.stats(); }
  Status defragment() override { return t_.defragment(); }
  Status copy_to(ByteSink& out) override { return t_.copy_to(out); }
  Status close() override { return Status::OK(); }
  std::atomic<bool> fail{false};
  std::atomic<int> commits{0};

 private:
  Backend& t_;
};

TEST_P(KvStoreTest, AFailedCommitStopsTheStore) {
  close_all();
  open_all();
  store_.reset();
  FailingBackend failing(*backend_);
  StoreOptions o = options_;
  o.batch_limit = 2;
  auto s = KvStore::open(failing, o);
  ASSERT_OK_R(s);
  auto& st = **s;
  PutRequest p;
  p.key = "a";
  ASSERT_OK_R(st.put(p, 1));
  failing.fail = true;
  auto r = st.put(p, 2);  // the second change fills the batch: its commit fails
  EXPECT_TRUE(r.status().is_io_error()) << r.status().to_string();
  const int commits = failing.commits;
  EXPECT_TRUE(st.put(p, 3).status().is_io_error());
  EXPECT_TRUE(st.delete_range(DeleteRangeRequest{"a", "", false}, 4).status().is_io_error());
  EXPECT_TRUE(st.force_commit().is_io_error());
  EXPECT_EQ(failing.commits, commits);  // never retried
  RangeRequest g;
  g.key = "a";
  EXPECT_TRUE(st.range(g).ok());  // reads still answer
  EXPECT_TRUE(st.close().is_io_error());
  s->reset();
  // Nothing of the failed batch reached the disk.
  auto again = KvStore::open(*backend_, options_);
  ASSERT_OK_R(again);
  EXPECT_EQ((*again)->current_revision(), 1);
  store_ = std::move(*again);
}

INSTANTIATE_TEST_SUITE_P(Backends, KvStoreTest, ::testing::ValuesIn(backend_names()),
                         backend_param_name);

}  // namespace
}  // namespace keel::mvcc::testing
