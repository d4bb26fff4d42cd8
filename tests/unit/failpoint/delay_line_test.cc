// The delay line that holds back a peer link's frames: tasks run, those given at once run in
// order, a task held back longer runs after one given later with no delay, and stop drops what
// has not run.
#include "failpoint/delay_line.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <vector>

namespace keel::failpoint {
namespace {

constexpr std::chrono::seconds kWait{30};

class Ran {
 public:
  std::function<void()> task(int n) {
    return [this, n] {
      std::lock_guard<std::mutex> lock(mu_);
      order_.push_back(n);
      cv_.notify_all();
    };
  }
  bool wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return order_.size() >= n; });
  }
  std::vector<int> order() {
    std::lock_guard<std::mutex> lock(mu_);
    return order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int> order_;
};

TEST(DelayLineTest, TasksWithTheSameDelayRunInTheOrderGiven) {
  Ran ran;
  DelayLine line;
  for (int i = 0; i < 200; ++i) line.after(std::chrono::milliseconds(0), ran.task(i));
  ASSERT_TRUE(ran.wait(200));
  std::vector<int> want(200);
  for (int i = 0; i < 200; ++i) want[i] = i;
  EXPECT_EQ(ran.order(), want);
}

TEST(DelayLineTest, ATaskHeldBackRunsAfterOneGivenLaterWithoutDelay) {
  Ran ran;
  DelayLine line;
  line.after(std::chrono::milliseconds(2000), ran.task(1));
  line.after(std::chrono::milliseconds(0), ran.task(2));
  ASSERT_TRUE(ran.wait(2));
  EXPECT_EQ(ran.order(), (std::vector<int>{2, 1}));
}

TEST(DelayLineTest, StopDropsWhatHasNotRunAndWhatComesAfter) {
  Ran ran;
  DelayLine line;
  line.after(std::chrono::milliseconds(0), ran.task(1));
  ASSERT_TRUE(ran.wait(1));
  line.after(std::chrono::hours(1), ran.task(2));
  line.stop();
  line.after(std::chrono::milliseconds(0), ran.task(3));
  line.stop();  // again: nothing happens
  EXPECT_EQ(ran.order(), std::vector<int>{1});
}

TEST(DelayLineTest, ALineNeverGivenATaskStopsAtOnce) {
  DelayLine line;
  line.stop();
}

}  // namespace
}  // namespace keel::failpoint
