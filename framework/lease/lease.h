// framework/lease: keel's leases (namespace keel::lease).
//
// What it offers:
//   Lessor (lessor.h)  grant, revoke (deleting the attached keys in one MVCC revision), keep-alive,
//                      time-to-live with the keys, list, expiry reports for the leader to propose
//                      revokes, promote/demote, checkpoints of remaining TTL; persisted in the
//                      Backend's `lease` bucket (docs/format/mvcc.md).
//   The errors below, with etcd's codes and texts.
// It plugs into the MVCC store as its mvcc::LeaseHooks, so puts attach and detach keys.
#ifndef KEEL_LEASE_LEASE_H_
#define KEEL_LEASE_LEASE_H_

#include "keel/status.h"
#include "lease/lessor.h"
#include "mvcc/errors.h"

namespace keel::lease {

inline Status ErrLeaseNotFound() { return mvcc::ErrLeaseNotFound(); }
inline Status ErrLeaseExists() {
  return Status::FailedPrecondition("etcdserver: lease already exists");
}
inline Status ErrLeaseTtlTooLarge() { return Status::OutOfRange("etcdserver: too large lease TTL"); }
inline Status ErrNotPrimary() { return Status::Unavailable("not a primary lessor"); }

}  // namespace keel::lease

#endif  // KEEL_LEASE_LEASE_H_
