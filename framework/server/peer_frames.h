// Peer frames: what one member sends another through the Transport (docs/format/peer-frames.md).
// A kind byte leads: a Raft message; or a call, which one member asks of another beside Raft (a
// follower's lease keep-alive and TimeToLive, which only the leader's lessor can answer: etcd
// forwards both to the leader; a round-trip probe; the members a peer knows), with the caller's
// call id, the method and its body; or the reply
// to a call, with the same id, a Status (code and message) and, when OK, the answer's body.
//
// Decoders refuse anything that is not exactly one frame of a known kind (Corruption).
//
// Thread safety: pure functions.
#ifndef KEEL_SERVER_PEER_FRAMES_H_
#define KEEL_SERVER_PEER_FRAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"
#include "keel/transport.h"
#include "lease/lessor.h"
#include "raft/raft.h"
#include "server/member_store.h"

namespace keel::server {

// The kind byte every peer frame starts with.
enum class PeerFrameKind : uint8_t { kRaftMessage = 1, kCall = 2, kReply = 3 };

// The kind of a frame (Corruption for an empty frame or an unknown kind).
Result<PeerFrameKind> frame_kind(std::string_view frame);

std::string encode_raft_frame(const raft::Message& m);
Result<raft::Message> decode_raft_frame(std::string_view frame);
// The lane a message takes: appends that carry entries on the bulk lane, the rest on control.
Lane lane_of(const raft::Message& m);

// kProbe: an empty call the peer network answers itself, to measure the round trip. kMembers:
// the cluster's members as the peer knows them (a member starting on an empty data dir asks, as
// etcd's isMemberBootstrapped does). kPromoteMember: a follower hands etcd's MemberPromote to
// the leader (only the leader knows whether the learner is in sync), answered with the members.
// kRemoveMember: a follower removing itself hands the removal to the leader, which answers once
// it applied it (the removed member itself may never learn the commit: the leader stops sending
// to it).
enum class PeerMethod : uint8_t {
  kLeaseRenew = 1,
  kLeaseTimeToLive = 2,
  kProbe = 3,
  kMembers = 4,
  kPromoteMember = 5,
  kRemoveMember = 6,
};

struct PeerCall {
  uint64_t call_id = 0;
  PeerMethod method = PeerMethod::kLeaseRenew;
  std::string body;
};

struct PeerReply {
  uint64_t call_id = 0;
  Status status;
  std::string body;  // meaningful when status is OK
};

std::string encode_call_frame(const PeerCall& call);
Result<PeerCall> decode_call_frame(std::string_view frame);
std::string encode_reply_frame(const PeerReply& reply);
Result<PeerReply> decode_reply_frame(std::string_view frame);

// The methods' bodies.
std::string encode_lease_renew(int64_t lease_id);
Result<int64_t> decode_lease_renew(std::string_view body);
std::string encode_lease_ttl_request(int64_t lease_id, bool keys);
Result<std::pair<int64_t, bool>> decode_lease_ttl_request(std::string_view body);
std::string encode_renewed_ttl(int64_t ttl);
Result<int64_t> decode_renewed_ttl(std::string_view body);
std::string encode_lease_ttl(const lease::LeaseTimeToLiveResponse& r);
Result<lease::LeaseTimeToLiveResponse> decode_lease_ttl(std::string_view body);
std::string encode_members(const std::vector<Member>& members);
// An introduction (keel/transport.h: Transport::introduce): a member joining a running cluster
// asks a peer URL for the cluster's id and members, before it knows either or its own id.
inline constexpr uint8_t kAskCluster = 1;
std::string encode_cluster_question();
Status decode_cluster_question(std::string_view question);
// The other question: whether a member was removed (a removed member whose peers no longer send
// it anything never learns its removal was committed; it asks when it has been without a leader
// a while). The answer is one byte, 1 when it was.
inline constexpr uint8_t kAskRemoved = 2;
std::string encode_removal_question(uint64_t member_id);
Result<uint64_t> decode_removal_question(std::string_view question);
struct ClusterIntroduction {
  uint64_t cluster_id = 0;
  std::vector<Member> members;
};
std::string encode_cluster_introduction(const ClusterIntroduction& answer);
Result<ClusterIntroduction> decode_cluster_introduction(std::string_view answer);

// kPromoteMember's and kRemoveMember's request: the member's id.
std::string encode_member_request(uint64_t member_id);
Result<uint64_t> decode_member_request(std::string_view body);
Result<std::vector<Member>> decode_members(std::string_view body);

}  // namespace keel::server

#endif  // KEEL_SERVER_PEER_FRAMES_H_
