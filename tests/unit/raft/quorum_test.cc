// Majority arithmetic (framework/raft/quorum.h) checked against a naive model over random
// inputs (etcd raft's quorum/quick_test.go idea), and Progress / Inflights flow control.
#include "raft/quorum.h"

#include <gtest/gtest.h>

#include "raft/progress.h"
#include "raft/random.h"

namespace keel::raft {
namespace {

// Naive: the largest index i such that a majority of voters acked >= i.
uint64_t NaiveCommitted(const std::set<NodeId>& voters, const std::map<NodeId, uint64_t>& acked) {
  if (voters.empty()) return 0;
  uint64_t best = 0;
  for (uint64_t i = 0; i <= 20; ++i) {
    size_t n = 0;
    for (NodeId v : voters) {
      auto it = acked.find(v);
      if (it != acked.end() && it->second >= i) ++n;
    }
    if (n * 2 > voters.size()) best = i;
  }
  return best;
}

TEST(QuorumTest, CommittedMatchesNaiveModel) {
  SplitMix64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::set<NodeId> voters;
    std::map<NodeId, uint64_t> acked;
    const uint64_t n = rng.uniform(8);
    for (NodeId id = 1; id <= n; ++id) {
      voters.insert(id);
      if (rng.uniform(4) != 0) acked[id] = rng.uniform(21);
    }
    acked[99] = 20;  // a non-voter never counts
    ASSERT_EQ(MajorityCommitted(voters, acked), NaiveCommitted(voters, acked)) << "#" << i;
  }
}

TEST(QuorumTest, VoteResult) {
  struct Row {
    std::set<NodeId> voters;
    std::map<NodeId, bool> votes;
    VoteResult want;
  };
  const std::vector<Row> rows = {
      {{1}, {{1, true}}, VoteResult::kWon},
      {{1, 2, 3}, {{1, true}}, VoteResult::kPending},
      {{1, 2, 3}, {{1, true}, {2, true}}, VoteResult::kWon},
      {{1, 2, 3}, {{1, true}, {2, false}}, VoteResult::kPending},
      {{1, 2, 3}, {{2, false}, {3, false}}, VoteResult::kLost},
      {{1, 2, 3, 4}, {{1, true}, {2, true}}, VoteResult::kPending},
      {{1, 2, 3, 4}, {{1, true}, {2, true}, {3, false}, {4, false}}, VoteResult::kLost},
      {{1, 2, 3}, {{1, true}, {7, true}}, VoteResult::kPending},  // 7 is no voter
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(MajorityVoteResult(rows[i].voters, rows[i].votes), rows[i].want) << "#" << i;
  }
}

TEST(ProgressTest, InflightsCountAndBytes) {
  Inflights in(3, 100);
  in.add(1, 10);
  in.add(2, 10);
  EXPECT_FALSE(in.full());
  in.add(3, 10);
  EXPECT_TRUE(in.full());
  in.free_le(2);
  EXPECT_EQ(in.count(), 1u);
  EXPECT_FALSE(in.full());
  in.add(4, 95);
  EXPECT_TRUE(in.full());  // bytes
}

TEST(ProgressTest, MaybeDecrTo) {
  struct Row {
    ProgressState state;
    uint64_t match, next, rejected, hint;
    bool want;
    uint64_t want_next;
  };
  const std::vector<Row> rows = {
      {ProgressState::kReplicate, 5, 10, 5, 5, false, 10},  // stale: rejected <= match
      {ProgressState::kReplicate, 5, 10, 9, 9, true, 6},    // back to match+1
      {ProgressState::kProbe, 0, 10, 5, 5, false, 10},      // not the last probe
      {ProgressState::kProbe, 0, 10, 9, 9, true, 9},
      {ProgressState::kProbe, 0, 10, 9, 3, true, 4},  // the hint skips ahead
      {ProgressState::kProbe, 2, 10, 9, 0, true, 3},  // never below match+1
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Progress p(rows[i].next, 10, 0, false);
    p.match = rows[i].match;
    p.state = rows[i].state;
    EXPECT_EQ(p.maybe_decr_to(rows[i].rejected, rows[i].hint), rows[i].want) << "#" << i;
    EXPECT_EQ(p.next, rows[i].want_next) << "#" << i;
  }
}

TEST(ProgressTest, PausedByState) {
  Progress p(5, 2, 0, false);
  EXPECT_FALSE(p.is_paused());
  p.sent_entries(1, 10, 5);
  EXPECT_TRUE(p.is_paused());  // probe: one in flight
  p.maybe_update(5);
  p.become_replicate();
  p.sent_entries(1, 10, 6);
  EXPECT_FALSE(p.is_paused());
  p.sent_entries(1, 10, 7);
  EXPECT_TRUE(p.is_paused());  // window of 2 full
  p.become_snapshot(20);
  EXPECT_TRUE(p.is_paused());
  p.match = 20;
  p.become_probe();
  EXPECT_EQ(p.next, 21u);
}

}  // namespace
}  // namespace keel::raft
