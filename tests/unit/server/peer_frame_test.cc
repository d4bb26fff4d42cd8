// Peer frames (docs/format/peer-frames.md): a Raft message survives the trip, takes the lane its
// kind calls for, and anything that is not a frame of a known kind is refused, not guessed at.
#include <gtest/gtest.h>

#include "server/peer_network.h"

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
