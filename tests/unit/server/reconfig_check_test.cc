// etcd 3.4's --strict-reconfig-check rules (reconfig_check.h) over chosen clusters: which members
// are started (published a name) and which are connected, and since when.
#include "server/reconfig_check.h"

#include <gtest/gtest.h>

#include <map>

namespace keel::server {
namespace {

using Time = ClusterView::Time;
const Time kNow = Time() + std::chrono::hours(1);
const Time kLongAgo = kNow - std::chrono::minutes(1);
const Time kJustNow = kNow - std::chrono::seconds(1);

Member voter(uint64_t id, bool started = true) { return Member{id, started ? "m" : "", {}, {}, false}; }
Member learner(uint64_t id) { return Member{id, "l", {}, {}, true}; }

// Member 1 is this one; `connected` says since when each peer is connected (absent: not).
ClusterView view(std::vector<Member> members, std::map<uint64_t, Time> connected) {
  ClusterView v;
  v.members = std::move(members);
  v.self = 1;
  v.now = kNow;
  v.active_since = [connected](uint64_t id) -> std::optional<Time> {
    auto it = connected.find(id);
    if (it == connected.end()) return std::nullopt;
    return it->second;
  };
  return v;
}

std::string text(const Status& s) { return s.ok() ? "OK" : s.message(); }

const std::string kNotEnough = "etcdserver: re-configuration failed due to not enough started members";
const std::string kUnhealthy = "etcdserver: unhealthy cluster";

TEST(ReconfigCheck, AddingAVoterNeedsAStartedQuorumAfterIt) {
  const auto healthy = std::map<uint64_t, Time>{{2, kLongAgo}, {3, kLongAgo}, {4, kLongAgo}};
  // 3 started voters: a 4th leaves a quorum of 3, which they are.
  EXPECT_EQ(text(may_add_member(view({voter(1), voter(2), voter(3)}, healthy), voter(9, false))), "OK");
  // 2 started of 3, adding a 4th: quorum 3, 2 started.
  EXPECT_EQ(text(may_add_member(view({voter(1), voter(2), voter(3, false)}, healthy), voter(9, false))), kNotEnough);
  // A learner needs no quorum of started members.
  EXPECT_EQ(text(may_add_member(view({voter(1), voter(2), voter(3, false)}, healthy), learner(9))), "OK");
  // One member growing to two (etcd's way back from a restored snapshot).
  EXPECT_EQ(text(may_add_member(view({voter(1)}, {}), voter(9, false))), "OK");
  // Two growing to three with one never started: 1 started < quorum 2.
  EXPECT_EQ(text(may_add_member(view({voter(1), voter(2, false)}, healthy), voter(9, false))), kNotEnough);
}

TEST(ReconfigCheck, AddingNeedsEveryVoterConnectedForTheHealthInterval) {
  const std::vector<Member> three = {voter(1), voter(2), voter(3), learner(4)};
  EXPECT_EQ(text(may_add_member(view(three, {{2, kLongAgo}}), voter(9, false))), kUnhealthy);
  EXPECT_EQ(text(may_add_member(view(three, {{2, kLongAgo}, {3, kJustNow}}), learner(9))), kUnhealthy);
  // The learner's own connection does not count.
  EXPECT_EQ(text(may_add_member(view(three, {{2, kLongAgo}, {3, kLongAgo}}), voter(9, false))), "OK");
}

TEST(ReconfigCheck, RemovingAVoterKeepsAStartedAndConnectedQuorum) {
  const std::vector<Member> three = {voter(1), voter(2), voter(3)};
  const auto all = std::map<uint64_t, Time>{{2, kLongAgo}, {3, kLongAgo}};
  EXPECT_EQ(text(may_remove_member(view(three, all), 3)), "OK");
  // A member that is down may always go: it is not part of the serving quorum.
  EXPECT_EQ(text(may_remove_member(view(three, {{2, kLongAgo}}), 3)), "OK");
  // Removing a connected member while another is down leaves 1 of 2 connected.
  EXPECT_EQ(text(may_remove_member(view(three, {{2, kLongAgo}}), 2)), kUnhealthy);
  // This member removing itself while a peer is down: likewise.
  EXPECT_EQ(text(may_remove_member(view(three, {{2, kLongAgo}}), 1)), kUnhealthy);
  // Too few started members among the others.
  EXPECT_EQ(text(may_remove_member(view({voter(1), voter(2, false), voter(3, false)}, all), 1)), kNotEnough);
  // A learner may always go.
  EXPECT_EQ(text(may_remove_member(view({voter(1), voter(2, false), voter(3, false), learner(4)}, {}), 4)), "OK");
}

TEST(ReconfigCheck, PromotingNeedsAStartedQuorumWithTheLearner) {
  EXPECT_EQ(text(may_promote_member(view({voter(1), voter(2), learner(3)}, {}), 3)), "OK");
  // The learner counts as started: 2 of 3.
  EXPECT_EQ(text(may_promote_member(view({voter(1), voter(2, false), learner(3)}, {}), 3)), "OK");
  // One member growing to two.
  EXPECT_EQ(text(may_promote_member(view({voter(1), learner(3)}, {}), 3)), "OK");
  // 2 started of 4.
  EXPECT_EQ(text(may_promote_member(view({voter(1), voter(2, false), voter(4, false), learner(3)}, {}), 3)),
            kNotEnough);
}

}  // namespace
}  // namespace keel::server
