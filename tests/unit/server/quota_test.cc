// Which requests the backend quota guards and what etcd's estimate says each costs.
#include "server/quota.h"

#include <gtest/gtest.h>

namespace keel::server {
namespace {

mvcc::PutRequest put(std::string key, std::string value) {
  mvcc::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  return p;
}

mvcc::RequestOp op(mvcc::PutRequest p) { return mvcc::RequestOp{std::move(p)}; }

TEST(QuotaTest, GuardedRequests) {
  EXPECT_TRUE(guarded_by_quota(put("k", "v")));
  EXPECT_TRUE(guarded_by_quota(LeaseGrantRequest{60, 0}));
  EXPECT_FALSE(guarded_by_quota(mvcc::DeleteRangeRequest{}));
  EXPECT_FALSE(guarded_by_quota(CompactionRequest{5, false}));
  EXPECT_FALSE(guarded_by_quota(LeaseRevokeRequest{1}));
  EXPECT_FALSE(guarded_by_quota(AlarmRequest{}));

  mvcc::TxnRequest reads;
  reads.success.push_back(mvcc::RequestOp{mvcc::RangeRequest{}});
  EXPECT_FALSE(guarded_by_quota(reads)) << "a txn that only reads passes, as etcd's capped applier";
  mvcc::TxnRequest deletes;
  deletes.failure.push_back(mvcc::RequestOp{mvcc::DeleteRangeRequest{}});
  EXPECT_TRUE(guarded_by_quota(deletes)) << "etcd refuses every txn that writes";
  mvcc::TxnRequest nested;
  nested.success.push_back(mvcc::RequestOp{mvcc::Box<mvcc::TxnRequest>(deletes)});
  EXPECT_TRUE(guarded_by_quota(nested));
  mvcc::TxnRequest nested_reads;
  nested_reads.success.push_back(mvcc::RequestOp{mvcc::Box<mvcc::TxnRequest>(reads)});
  EXPECT_FALSE(guarded_by_quota(nested_reads));
}

TEST(QuotaTest, Costs) {
  EXPECT_EQ(quota_cost(put("key", "value")), 256u + 3 + 5);
  EXPECT_EQ(quota_cost(LeaseGrantRequest{60, 0}), 64u);
  EXPECT_EQ(quota_cost(mvcc::DeleteRangeRequest{}), 0u);
  mvcc::TxnRequest t;
  t.success.push_back(op(put("a", "1")));
  t.success.push_back(op(put("b", "22")));
  t.failure.push_back(op(put("c", std::string(100, 'x'))));
  EXPECT_EQ(quota_cost(t), 256u + 1 + 1 + 256 + 1 + 2) << "the costlier branch";
  t.failure.push_back(op(put("e", std::string(400, 'x'))));
  EXPECT_EQ(quota_cost(t), 256u + 1 + 100 + 256 + 1 + 400);
  mvcc::TxnRequest outer;
  outer.success.push_back(mvcc::RequestOp{mvcc::Box<mvcc::TxnRequest>(t)});
  outer.success.push_back(op(put("d", "")));
  EXPECT_EQ(quota_cost(outer), 256u + 1 + 100 + 256 + 1 + 400 + 256 + 1);
}

}  // namespace
}  // namespace keel::server
