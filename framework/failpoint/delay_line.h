// DelayLine: runs tasks later, on its own thread — how a peer link's sleep(ms) failpoint makes a
// frame arrive late without stalling the thread that sent or received it. Tasks due at the same
// moment run in the order they were given, so a link with a fixed delay keeps its frames' order.
//
// Thread safety: after() and stop() may be called from any thread but the line's own.
#ifndef KEEL_FAILPOINT_DELAY_LINE_H_
#define KEEL_FAILPOINT_DELAY_LINE_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace keel::failpoint {

class DelayLine {
 public:
  DelayLine() = default;
  DelayLine(const DelayLine&) = delete;
  DelayLine& operator=(const DelayLine&) = delete;
  ~DelayLine() { stop(); }

  // Runs `task` `delay` from now (the thread starts with the first task). Once stopped, drops it.
  void after(std::chrono::milliseconds delay, std::function<void()> task);
  // Drops the tasks not run yet and waits for the one running, if any. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> due_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace keel::failpoint

#endif  // KEEL_FAILPOINT_DELAY_LINE_H_
