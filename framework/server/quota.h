// The backend quota (etcd's --quota-backend-bytes): which requests may grow the store, and what
// each is estimated to add to it. A request whose cost would take the Backend past the quota is
// refused with "etcdserver: mvcc: database space exceeded" and raises the NOSPACE alarm; while
// that alarm is raised the applier refuses the same kinds of request (etcd's capped applier)
// until an operator frees space (compact, defragment) and disarms it.
#ifndef KEEL_SERVER_QUOTA_H_
#define KEEL_SERVER_QUOTA_H_

#include <cstdint>

#include "server/request.h"

namespace keel::server {

inline constexpr int64_t kDefaultQuotaBytes = int64_t{2} << 30;

// Whether `body` is a Put, a LeaseGrant, or a Txn with a write in it: the requests the quota
// guards (a Txn that only reads passes the capped applier, as etcd's).
bool guarded_by_quota(const decltype(InternalRequest::body)& body);

// etcd's estimate of the bytes `body` adds: per Put 256 (the key's index) plus key and value; a
// Txn costs its costlier branch; a LeaseGrant 64; anything else 0.
uint64_t quota_cost(const decltype(InternalRequest::body)& body);

}  // namespace keel::server

#endif  // KEEL_SERVER_QUOTA_H_
