// The errors of keel's Raft kernel, as keel::Status values.
//
// Each error is a Status with a fixed code and message, so callers test for one with its Is*
// predicate (or compare with ==). The texts are etcd's where etcd has one.
#ifndef KEEL_RAFT_ERRORS_H_
#define KEEL_RAFT_ERRORS_H_

#include "keel/status.h"

namespace keel::raft {

// Storage: the requested index is older than the first entry the storage still holds.
inline Status ErrCompacted() {
  return Status::OutOfRange("raft: requested index is unavailable due to compaction");
}
// Storage: a snapshot older than the one the storage already holds was offered.
inline Status ErrSnapOutOfDate() {
  return Status::FailedPrecondition("raft: requested index is older than the existing snapshot");
}
// Storage: the requested index is past the last entry the storage holds.
inline Status ErrUnavailable() {
  return Status::NotFound("raft: requested entry at index is unavailable");
}
// Storage: the snapshot is being built; Raft asks again later.
inline Status ErrSnapshotTemporarilyUnavailable() {
  return Status::Unavailable("raft: snapshot is temporarily unavailable");
}

// Proposals and reads: no leader is known, so nothing can be forwarded.
inline Status ErrNoLeader() { return Status::Unavailable("raft: proposal dropped: no leader"); }
// Proposals: the leader is handing over leadership and takes no new entries until it is done.
inline Status ErrTransferInProgress() {
  return Status::Aborted("raft: proposal dropped: leadership transfer in progress");
}
// Proposals: the configuration change cannot be accepted while another one is pending.
inline Status ErrConfChangePending() {
  return Status::FailedPrecondition("raft: proposal dropped: a configuration change is pending");
}
// Proposals: dropped for another reason (this member was removed, forwarding is disabled, ...).
inline Status ErrProposalDropped() { return Status::Aborted("raft: proposal dropped"); }
// step(): a local message (kHup, kBeat, ...) was handed to step(); use the RawNode method.
inline Status ErrStepLocalMsg() {
  return Status::InvalidArgument("raft: cannot step raft local message");
}
// step(): a response came from a member this node does not know.
inline Status ErrStepPeerNotFound() {
  return Status::NotFound("raft: cannot step as peer not found");
}

inline bool IsCompacted(const Status& s) { return s == ErrCompacted(); }
inline bool IsSnapOutOfDate(const Status& s) { return s == ErrSnapOutOfDate(); }
inline bool IsUnavailable(const Status& s) { return s == ErrUnavailable(); }
inline bool IsSnapshotTemporarilyUnavailable(const Status& s) {
  return s == ErrSnapshotTemporarilyUnavailable();
}
inline bool IsNoLeader(const Status& s) { return s == ErrNoLeader(); }
inline bool IsTransferInProgress(const Status& s) { return s == ErrTransferInProgress(); }
inline bool IsConfChangePending(const Status& s) { return s == ErrConfChangePending(); }
inline bool IsProposalDropped(const Status& s) { return s == ErrProposalDropped(); }

}  // namespace keel::raft

#endif  // KEEL_RAFT_ERRORS_H_
