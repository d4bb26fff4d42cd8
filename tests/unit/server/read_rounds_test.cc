#include "server/read_rounds.h"

#include <functional>
#include <string>

#include <gtest/gtest.h>

#include "callback_test_util.h"

namespace keel::server {
namespace {

using Rounds = ReadRounds<std::function<std::string()>>;
using Clock = std::chrono::steady_clock;

const Clock::time_point kLater = Clock::now() + std::chrono::hours(1);

TEST(ReadRounds, AnAnsweredRoundIsServedOnceItsIndexIsApplied) {
  std::atomic<uint64_t> applied{10};
  Rounds rounds(applied);
  rounds.start("a", {says("a1"), says("a2")}, kLater);
  rounds.start("b", {says("b1")}, kLater);
  // Applied already: served at once.
  EXPECT_EQ(called(rounds.answered("a", 10)), (std::vector<std::string>{"a1", "a2"}));
  // Not yet: served when the apply thread reaches it, not before.
  EXPECT_TRUE(rounds.answered("b", 12).empty());
  applied = 11;
  EXPECT_TRUE(rounds.reached(11).empty());
  applied = 12;
  EXPECT_EQ(called(rounds.reached(12)), (std::vector<std::string>{"b1"}));
  // An answer for a context that is not ours (another member's, or one answered already).
  EXPECT_TRUE(rounds.answered("a", 10).empty());
  EXPECT_TRUE(rounds.answered("other", 1).empty());
}

TEST(ReadRounds, ALeaderChangeTakesOutOnlyTheUnansweredRounds) {
  std::atomic<uint64_t> applied{1};
  Rounds rounds(applied);
  rounds.start("asked1", {says("x"), says("y")}, kLater);
  rounds.start("asked2", {says("z")}, kLater);
  rounds.start("answered", {says("w")}, kLater);
  EXPECT_TRUE(rounds.answered("answered", 5).empty());
  size_t n = 0;
  EXPECT_EQ(called(rounds.take_unanswered(&n)), (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(n, 2u);
  // The answered one still waits for its index: the leader's commit index stays valid.
  EXPECT_EQ(called(rounds.reached(5)), (std::vector<std::string>{"w"}));
}

TEST(ReadRounds, ExpiredAreTheUnansweredPastTheirDeadline) {
  std::atomic<uint64_t> applied{0};
  Rounds rounds(applied);
  const Clock::time_point now = Clock::now();
  rounds.start("old", {says("old")}, now);
  rounds.start("new", {says("new")}, now + std::chrono::seconds(1));
  size_t n = 0;
  EXPECT_EQ(called(rounds.take_expired(now, &n)), (std::vector<std::string>{"old"}));
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(rounds.answered("new", 3).empty());
  // Stopping takes everything, answered or not.
  rounds.start("last", {says("last")}, kLater);
  EXPECT_EQ(called(rounds.take_all()), (std::vector<std::string>{"last", "new"}));
  EXPECT_TRUE(rounds.take_all().empty());
}

}  // namespace
}  // namespace keel::server
