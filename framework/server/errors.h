// The member's own errors (etcd's etcdserver errors), with etcd's gRPC codes and exact texts:
// clients map errors back by their text (etcd-reference.md §1.3).
#ifndef KEEL_SERVER_ERRORS_H_
#define KEEL_SERVER_ERRORS_H_

#include "keel/status.h"

namespace keel::server {

inline Status ErrNoLeader() { return Status::Unavailable("etcdserver: no leader"); }
inline Status ErrLeaderChanged() { return Status::Unavailable("etcdserver: leader changed"); }
inline Status ErrStopped() { return Status::Unavailable("etcdserver: server stopped"); }
inline Status ErrTimeout() { return Status::Unavailable("etcdserver: request timed out"); }
inline Status ErrTimeoutLeaderTransfer() {
  return Status::Unavailable("etcdserver: request timed out, leader transfer took too long");
}
inline Status ErrTooManyRequests() {
  return Status::ResourceExhausted("etcdserver: too many requests");
}
inline Status ErrRequestTooLarge() {
  return Status::InvalidArgument("etcdserver: request is too large");
}
inline Status ErrNoSpace() {
  return Status::ResourceExhausted("etcdserver: mvcc: database space exceeded");
}
inline Status ErrCorrupt() { return Status::Corruption("etcdserver: corrupt cluster"); }
inline Status ErrNotLeader() { return Status::FailedPrecondition("etcdserver: not leader"); }
inline Status ErrBadLeaderTransferee() {
  return Status::FailedPrecondition("etcdserver: bad leader transferee");
}

}  // namespace keel::server

#endif  // KEEL_SERVER_ERRORS_H_
