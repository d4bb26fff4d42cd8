// The errors of the MVCC store, with etcd's gRPC codes and exact texts (clients match on text).
#ifndef KEEL_MVCC_ERRORS_H_
#define KEEL_MVCC_ERRORS_H_

#include "keel/status.h"

namespace keel::mvcc {

inline Status ErrCompacted() {
  return Status::OutOfRange("etcdserver: mvcc: required revision has been compacted");
}
inline Status ErrFutureRev() {
  return Status::OutOfRange("etcdserver: mvcc: required revision is a future revision");
}
inline Status ErrEmptyKey() { return Status::InvalidArgument("etcdserver: key is not provided"); }
inline Status ErrKeyNotFound() { return Status::InvalidArgument("etcdserver: key not found"); }
inline Status ErrValueProvided() { return Status::InvalidArgument("etcdserver: value is provided"); }
inline Status ErrLeaseProvided() { return Status::InvalidArgument("etcdserver: lease is provided"); }
inline Status ErrTooManyOps() {
  return Status::InvalidArgument("etcdserver: too many operations in txn request");
}
inline Status ErrDuplicateKey() {
  return Status::InvalidArgument("etcdserver: duplicate key given in txn request");
}
inline Status ErrLeaseNotFound() { return Status::NotFound("etcdserver: requested lease not found"); }

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_ERRORS_H_
