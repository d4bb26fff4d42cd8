#include "server/quota.h"

#include <algorithm>
#include <variant>
#include <vector>

#include "mvcc/validate.h"

namespace keel::server {
namespace {

// etcd's kvOverhead and leaseOverhead (etcdserver/quota.go).
constexpr uint64_t kKvOverhead = 256;
constexpr uint64_t kLeaseOverhead = 64;

uint64_t put_cost(const mvcc::PutRequest& p) { return kKvOverhead + p.key.size() + p.value.size(); }

uint64_t txn_cost(const mvcc::TxnRequest& t);

uint64_t branch_cost(const std::vector<mvcc::RequestOp>& ops) {
  uint64_t cost = 0;
  for (const mvcc::RequestOp& op : ops) {
    if (const auto* put = std::get_if<mvcc::PutRequest>(&op.request)) cost += put_cost(*put);
    if (const auto* txn = std::get_if<mvcc::Box<mvcc::TxnRequest>>(&op.request)) cost += txn_cost(**txn);
  }
  return cost;
}

uint64_t txn_cost(const mvcc::TxnRequest& t) { return std::max(branch_cost(t.success), branch_cost(t.failure)); }

}  // namespace

bool guarded_by_quota(const decltype(InternalRequest::body)& body) {
  if (std::holds_alternative<mvcc::PutRequest>(body) || std::holds_alternative<LeaseGrantRequest>(body)) {
    return true;
  }
  const auto* txn = std::get_if<mvcc::TxnRequest>(&body);
  return txn != nullptr && mvcc::txn_writes(*txn);
}

uint64_t quota_cost(const decltype(InternalRequest::body)& body) {
  if (const auto* put = std::get_if<mvcc::PutRequest>(&body)) return put_cost(*put);
  if (const auto* txn = std::get_if<mvcc::TxnRequest>(&body)) return txn_cost(*txn);
  if (std::holds_alternative<LeaseGrantRequest>(body)) return kLeaseOverhead;
  return 0;
}

}  // namespace keel::server
