#include "server/proposal_waiters.h"

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "callback_test_util.h"

namespace keel::server {
namespace {

using Waiters = ProposalWaiters<std::function<std::string()>>;
using Clock = std::chrono::steady_clock;

TEST(ProposalWaiters, TakeGivesTheCallbackOnceAndNothingForAnUnknownId) {
  Waiters w;
  w.add(7, says("seven"), Clock::now() + std::chrono::hours(1));
  auto done = w.take(7);
  ASSERT_TRUE(done);
  EXPECT_EQ(done(), "seven");
  EXPECT_FALSE(w.take(7));
  EXPECT_FALSE(w.take(8));
  EXPECT_EQ(w.size(), 0u);
}

TEST(ProposalWaiters, ExpiredAreThoseAtOrPastTheirDeadline) {
  Waiters w;
  const Clock::time_point now = Clock::now();
  w.add(1, says("past"), now - std::chrono::seconds(1));
  w.add(2, says("now"), now);
  w.add(3, says("later"), now + std::chrono::seconds(1));
  EXPECT_EQ(called(w.take_expired(now)), (std::vector<std::string>{"past", "now"}));
  EXPECT_EQ(w.size(), 1u);
  EXPECT_TRUE(w.take(3));
}

TEST(ProposalWaiters, StrandedAreThoseHandedToRaftBeforeTheEpoch) {
  Waiters w;
  const Clock::time_point later = Clock::now() + std::chrono::hours(1);
  w.add(1, says("epoch 1"), later);
  w.add(2, says("epoch 2"), later);
  w.add(3, says("not handed"), later);
  w.add(4, says("epoch 3"), later);
  w.handed({1}, 1);
  w.handed({2, 99}, 2);  // 99: already answered, ignored
  w.handed({4}, 3);
  // A proposal still queued for Raft goes to whichever leader there is when it is handed over.
  EXPECT_EQ(called(w.take_stranded(3)), (std::vector<std::string>{"epoch 1", "epoch 2"}));
  EXPECT_TRUE(w.take_stranded(3).empty());
  EXPECT_EQ(called(w.take_all()), (std::vector<std::string>{"not handed", "epoch 3"}));
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace keel::server
