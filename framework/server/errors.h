// The member's own errors (etcd's etcdserver errors), with etcd's gRPC codes and exact texts:
// clients map errors back by their text (etcd's api/v3rpc/rpctypes/error.go lists them).
#ifndef KEEL_SERVER_ERRORS_H_
#define KEEL_SERVER_ERRORS_H_

#include "keel/status.h"
#include "raft/errors.h"

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


// Raft's refusals of a proposal, as etcd answers them.
inline Status proposal_error(const Status& s) {
  if (raft::IsNoLeader(s)) return ErrNoLeader();
  if (raft::IsTransferInProgress(s)) return ErrLeaderChanged();
  if (raft::IsProposalDropped(s)) return ErrTooManyRequests();
  return s;
}

// Membership (etcd 3.4's rpctypes).
inline Status ErrMemberExist() { return Status::FailedPrecondition("etcdserver: member ID already exist"); }
inline Status ErrPeerURLExist() { return Status::FailedPrecondition("etcdserver: Peer URLs already exists"); }
inline Status ErrMemberNotFound() { return Status::NotFound("etcdserver: member not found"); }
inline Status ErrMemberBadURLs() { return Status::InvalidArgument("etcdserver: given member URLs are invalid"); }
inline Status ErrNotEnoughStartedMembers() {
  return Status::FailedPrecondition("etcdserver: re-configuration failed due to not enough started members");
}
inline Status ErrMemberNotLearner() {
  return Status::FailedPrecondition("etcdserver: can only promote a learner member");
}
inline Status ErrLearnerNotReady() {
  return Status::FailedPrecondition("etcdserver: can only promote a learner member which is in sync with leader");
}
inline Status ErrTooManyLearners() {
  return Status::FailedPrecondition("etcdserver: too many learner members in cluster");
}
inline Status ErrUnhealthy() { return Status::Unavailable("etcdserver: unhealthy cluster"); }

}  // namespace keel::server

#endif  // KEEL_SERVER_ERRORS_H_
