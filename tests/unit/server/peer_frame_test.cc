// Peer frames (docs/format/peer-frames.md): a Raft message, a call and its reply survive the
// trip, a Raft message takes the lane its kind calls for, and anything that is not a frame of a
// known kind is refused, not guessed at.
#include <gtest/gtest.h>

#include "server/peer_frames.h"

namespace keel::server {
namespace {

raft::Message append(size_t entries) {
  raft::Message m;
  m.type = raft::MessageType::kApp;
  m.from = 1;
  m.to = 2;
  m.term = 3;
  m.index = 4;
  m.log_term = 3;
  m.commit = 4;
  for (size_t i = 0; i < entries; ++i) {
    raft::Entry e;
    e.term = 3;
    e.index = 5 + i;
    e.data = "entry" + std::to_string(i);
    m.entries.push_back(e);
  }
  return m;
}

TEST(PeerFrame, RoundTripsARaftMessage) {
  const raft::Message m = append(3);
  const std::string frame = encode_raft_frame(m);
  ASSERT_FALSE(frame.empty());
  EXPECT_EQ(static_cast<uint8_t>(frame[0]), static_cast<uint8_t>(PeerFrameKind::kRaftMessage));
  Result<raft::Message> back = decode_raft_frame(frame);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
}

TEST(PeerFrame, EntriesTakeTheBulkLaneAndTheRestControl) {
  EXPECT_EQ(lane_of(append(1)), Lane::kBulk);
  EXPECT_EQ(lane_of(append(0)), Lane::kControl);  // a probe or a commit update
  raft::Message heartbeat;
  heartbeat.type = raft::MessageType::kHeartbeat;
  EXPECT_EQ(lane_of(heartbeat), Lane::kControl);
  raft::Message vote;
  vote.type = raft::MessageType::kVote;
  EXPECT_EQ(lane_of(vote), Lane::kControl);
}

TEST(PeerFrame, RefusesWhatIsNotAFrame) {
  const std::string frame = encode_raft_frame(append(2));
  EXPECT_EQ(decode_raft_frame("").status().code(), Status::Code::kCorruption);
  std::string unknown_kind = frame;
  unknown_kind[0] = 9;
  EXPECT_EQ(decode_raft_frame(unknown_kind).status().code(), Status::Code::kCorruption);
  for (size_t n = 1; n < frame.size(); ++n) {
    EXPECT_FALSE(decode_raft_frame(frame.substr(0, n)).ok()) << "truncated to " << n;
  }
}

}  // namespace
}  // namespace keel::server

namespace keel::server {
namespace {

TEST(PeerCallFrame, AProbeIsAnEmptyCall) {
  Result<PeerCall> c = decode_call_frame(encode_call_frame(PeerCall{5, PeerMethod::kProbe, ""}));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->call_id, 5u);
  EXPECT_EQ(c->method, PeerMethod::kProbe);
  EXPECT_EQ(c->body, "");
}

TEST(PeerCallFrame, CallsAndRepliesRoundTrip) {
  const std::string call = encode_call_frame(PeerCall{300, PeerMethod::kLeaseTimeToLive, encode_lease_ttl_request(-7, true)});
  EXPECT_EQ(frame_kind(call).value(), PeerFrameKind::kCall);
  Result<PeerCall> c = decode_call_frame(call);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->call_id, 300u);
  EXPECT_EQ(c->method, PeerMethod::kLeaseTimeToLive);
  EXPECT_EQ(decode_lease_ttl_request(c->body).value(), std::make_pair(int64_t{-7}, true));

  lease::LeaseTimeToLiveResponse ttl{42, 9, 10, {"a", "", "key"}};
  Result<PeerReply> ok = decode_reply_frame(encode_reply_frame(PeerReply{300, Status::OK(), encode_lease_ttl(ttl)}));
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->call_id, 300u);
  EXPECT_TRUE(ok->status.ok());
  Result<lease::LeaseTimeToLiveResponse> back = decode_lease_ttl(ok->body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, 42);
  EXPECT_EQ(back->ttl, 9);
  EXPECT_EQ(back->granted_ttl, 10);
  EXPECT_EQ(back->keys, ttl.keys);

  // An error travels as its code and text, so the asker answers its client with etcd's error.
  Result<PeerReply> err = decode_reply_frame(
      encode_reply_frame(PeerReply{5, Status::NotFound("etcdserver: requested lease not found"), "ignored"}));
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->status.code(), Status::Code::kNotFound);
  EXPECT_EQ(err->status.message(), "etcdserver: requested lease not found");
  EXPECT_TRUE(err->body.empty());

  EXPECT_EQ(decode_renewed_ttl(encode_renewed_ttl(-1)).value(), -1);
  EXPECT_EQ(decode_lease_renew(encode_lease_renew(INT64_MIN)).value(), INT64_MIN);
}

TEST(PeerCallFrame, TheMembersAnswerRoundTripsAndRefusesDamage) {
  const std::vector<Member> members = {
      Member{0x8e9e05c52164694dull, "infra1", {"http://127.0.0.1:2380"}, {"http://127.0.0.1:2379"}, false},
      Member{7, "", {"http://127.0.0.1:2381", "http://127.0.0.2:2381"}, {}, true},
  };
  Result<PeerCall> c = decode_call_frame(encode_call_frame(PeerCall{9, PeerMethod::kMembers, ""}));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->method, PeerMethod::kMembers);
  const std::string body = encode_members(members);
  Result<std::vector<Member>> back = decode_members(body);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, members);
  EXPECT_TRUE(decode_members(encode_members({})).value().empty());

  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(decode_members(body.substr(0, n)).status().code(), Status::Code::kCorruption) << "cut at " << n;
  }
  EXPECT_FALSE(decode_members(body + "x").ok());
  std::string huge_count = body;
  huge_count[0] = 0x7f;  // more members than bytes left
  EXPECT_FALSE(decode_members(huge_count).ok());
}

TEST(PeerCallFrame, MemberRequestsRoundTripAndRefuseDamage) {
  const std::string body = encode_member_request(0xfedcba9876543210);
  Result<PeerCall> c = decode_call_frame(encode_call_frame(PeerCall{4, PeerMethod::kPromoteMember, body}));
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->method, PeerMethod::kPromoteMember);
  Result<uint64_t> id = decode_member_request(c->body);
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(*id, 0xfedcba9876543210u);
  EXPECT_FALSE(decode_member_request("").ok());
  EXPECT_FALSE(decode_member_request(body + "x").ok());
  EXPECT_FALSE(decode_member_request(body.substr(0, body.size() - 1)).ok());
  Result<PeerCall> removal = decode_call_frame(encode_call_frame(PeerCall{5, PeerMethod::kRemoveMember, body}));
  ASSERT_TRUE(removal.ok()) << removal.status().to_string();
  EXPECT_EQ(removal->method, PeerMethod::kRemoveMember);
  std::string next_method = encode_call_frame(PeerCall{5, PeerMethod::kRemoveMember, body});
  next_method[2] = static_cast<char>(static_cast<uint8_t>(PeerMethod::kRemoveMember) + 1);
  EXPECT_EQ(decode_call_frame(next_method).status().code(), Status::Code::kCorruption);
}

TEST(ClusterIntroduction, RoundTripsAndRefusesDamage) {
  EXPECT_TRUE(decode_cluster_question(encode_cluster_question()).ok());
  EXPECT_FALSE(decode_cluster_question("").ok());
  EXPECT_FALSE(decode_cluster_question("\x02").ok());
  EXPECT_FALSE(decode_cluster_question(encode_cluster_question() + "x").ok());
  Result<uint64_t> removed = decode_removal_question(encode_removal_question(0x8000000000000001));
  ASSERT_TRUE(removed.ok()) << removed.status().to_string();
  EXPECT_EQ(*removed, 0x8000000000000001u);
  EXPECT_FALSE(decode_removal_question(encode_cluster_question()).ok());
  EXPECT_FALSE(decode_removal_question("\x02").ok());
  EXPECT_FALSE(decode_removal_question(encode_removal_question(5) + "x").ok());
  EXPECT_FALSE(decode_cluster_question(encode_removal_question(5)).ok());
  const ClusterIntroduction intro{0xabcdef0123456789,
                                  {Member{1, "a", {"http://a:1"}, {"http://a:2"}, false},
                                   Member{2, "", {"http://b:1"}, {}, true}}};
  const std::string bytes = encode_cluster_introduction(intro);
  Result<ClusterIntroduction> back = decode_cluster_introduction(bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(back->cluster_id, intro.cluster_id);
  EXPECT_EQ(back->members, intro.members);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_cluster_introduction(bytes.substr(0, n)).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(decode_cluster_introduction(bytes + "x").ok());
}

TEST(PeerCallFrame, RefusesDamage) {
  const std::string call = encode_call_frame(PeerCall{1, PeerMethod::kLeaseRenew, encode_lease_renew(5)});
  std::string unknown_method = call;
  unknown_method[2] = 9;  // kind, call id 1, then the method
  EXPECT_EQ(decode_call_frame(unknown_method).status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(decode_call_frame(call.substr(0, 2)).ok());
  EXPECT_FALSE(decode_reply_frame(call).ok());  // a call is not a reply
  EXPECT_FALSE(decode_raft_frame(call).ok());
  EXPECT_FALSE(decode_lease_renew(encode_lease_renew(5) + "x").ok());
  std::string bad_keys_flag = encode_lease_ttl_request(1, false);
  bad_keys_flag.back() = 2;
  EXPECT_FALSE(decode_lease_ttl_request(bad_keys_flag).ok());

  const std::string reply = encode_reply_frame(PeerReply{1, Status::OK(), encode_lease_ttl({1, 2, 3, {"k"}})});
  for (size_t n = 0; n < reply.size(); ++n) {
    Result<PeerReply> r = decode_reply_frame(reply.substr(0, n));
    // A cut in the body still parses as a reply; the body's own decoder refuses it.
    if (r.ok()) {
      EXPECT_FALSE(decode_lease_ttl(r->body).ok()) << "truncated to " << n;
    }
  }
  std::string unknown_code = encode_reply_frame(PeerReply{1, Status::Internal("x"), ""});
  unknown_code[2] = 100;
  EXPECT_FALSE(decode_reply_frame(unknown_code).ok());
  // An error with a body is not a reply this build wrote.
  std::string error_with_body = encode_reply_frame(PeerReply{1, Status::Internal("x"), ""}) + "body";
  EXPECT_FALSE(decode_reply_frame(error_with_body).ok());
}

}  // namespace
}  // namespace keel::server
