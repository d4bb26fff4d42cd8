// AutoCompactor on a time the test moves: etcd 3.4's periodic and revision compactors — when
// they compact, to which revision, and that they ask for nothing already compacted or asked.
#include "server/auto_compactor.h"

#include <gtest/gtest.h>

namespace keel::server {
namespace {

using namespace std::chrono_literals;
using Mode = AutoCompactionPolicy::Mode;

class Driver {
 public:
  // The compactor starts at the first poll: now, at revision 1.
  explicit Driver(AutoCompactionPolicy p) : compactor_(p) { EXPECT_EQ(compactor_.poll(now_, current_, compacted_), 0); }
  // Moves time on in steps of `step` (a tick) for `d`, the revision rising by `per_step` each
  // step; returns the revisions asked for on the way, compacting each at once.
  std::vector<int64_t> run(std::chrono::nanoseconds d, std::chrono::nanoseconds step, int64_t per_step) {
    std::vector<int64_t> asked;
    for (std::chrono::nanoseconds t{0}; t < d; t += step) {
      now_ += step;
      current_ += per_step;
      const int64_t r = compactor_.poll(now_, current_, compacted_);
      if (r != 0) {
        EXPECT_GT(r, compacted_);
        EXPECT_LE(r, current_);
        compacted_ = r;
        asked.push_back(r);
      }
    }
    return asked;
  }
  int64_t current() const { return current_; }
  AutoCompactor& compactor() { return compactor_; }
  AutoCompactor::Time now() const { return now_; }

 private:
  AutoCompactor compactor_;
  AutoCompactor::Time now_{std::chrono::hours(1000)};
  int64_t current_ = 1;
  int64_t compacted_ = 0;
};

TEST(AutoCompactorTest, OffAsksNothing) {
  for (AutoCompactionPolicy p : {AutoCompactionPolicy{}, AutoCompactionPolicy{Mode::kPeriodic, 0s, 0},
                                 AutoCompactionPolicy{Mode::kRevision, {}, 0}}) {
    Driver d(p);
    EXPECT_FALSE(d.compactor().enabled());
    EXPECT_TRUE(d.run(1h, 100ms, 10).empty());
  }
}

TEST(AutoCompactorTest, PeriodicKeepsThePeriod) {
  // One revision per 100 ms tick, a 10 s period: nothing for the first 10 s, then every 10 s a
  // compaction to the revision of 10 s before.
  Driver d({Mode::kPeriodic, 10s, 0});
  EXPECT_TRUE(d.run(9900ms, 100ms, 1).empty());
  std::vector<int64_t> asked = d.run(100ms, 100ms, 1);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], d.current() - 100) << "the revision sampled 10 s (100 ticks) ago";
  asked = d.run(10s, 100ms, 1);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_GE(asked[0], d.current() - 101);
  EXPECT_LE(asked[0], d.current() - 100);
}

TEST(AutoCompactorTest, PeriodicAboveAnHourCompactsHourly) {
  Driver d({Mode::kPeriodic, 3h, 0});
  EXPECT_TRUE(d.run(3h - 1min, 1min, 1).empty());
  std::vector<int64_t> asked = d.run(3h + 2min, 1min, 1);
  // At 3 h, then once an hour: at 4 h, 5 h and 6 h.
  ASSERT_EQ(asked.size(), 4u);
  // Each keeps (about) 3 hours of revisions: the sampling step is 6 minutes.
  EXPECT_LE(asked.back(), d.current() - 180);
  EXPECT_GE(asked.back(), d.current() - 190);
}

TEST(AutoCompactorTest, PeriodicWithoutWritesAsksOnce) {
  Driver d({Mode::kPeriodic, 1s, 0});
  std::vector<int64_t> asked = d.run(1s, 100ms, 5);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_TRUE(d.run(10s, 100ms, 0).size() <= 1u) << "at most the last written revision";
  EXPECT_TRUE(d.run(10s, 100ms, 0).empty()) << "nothing new to compact";
}

TEST(AutoCompactorTest, RestartForgetsHistory) {
  Driver d({Mode::kPeriodic, 10s, 0});
  d.run(9s, 100ms, 1);
  // Leadership came back: a full period must pass again.
  d.compactor().restart(d.now());
  EXPECT_TRUE(d.run(9900ms, 100ms, 1).empty());
  EXPECT_EQ(d.run(200ms, 100ms, 1).size(), 1u);
}

TEST(AutoCompactorTest, RevisionKeepsTheLastRevisions) {
  Driver d({Mode::kRevision, {}, 1000});
  // Every five minutes, to current - 1000; never before five minutes.
  EXPECT_TRUE(d.run(AutoCompactor::kRevisionInterval - 1s, 1s, 10).empty());
  std::vector<int64_t> asked = d.run(1s, 1s, 10);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], d.current() - 1000);
  asked = d.run(AutoCompactor::kRevisionInterval, 1s, 10);
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0], d.current() - 1000);
}

TEST(AutoCompactorTest, RevisionBelowRetentionAsksNothing) {
  Driver d({Mode::kRevision, {}, 1000});
  EXPECT_TRUE(d.run(20min, 1s, 0).empty()) << "the store is younger than the revisions kept";
}

}  // namespace
}  // namespace keel::server
