#include "failpoint/delay_line.h"

namespace keel::failpoint {

void DelayLine::after(std::chrono::milliseconds delay, std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  // multimap keeps equal keys in insertion order: same-moment tasks run first in, first out.
  due_.emplace(std::chrono::steady_clock::now() + delay, std::move(task));
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_one();
}

void DelayLine::stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    due_.clear();
    thread = std::move(thread_);
  }
  cv_.notify_one();
  if (thread.joinable()) thread.join();
}

void DelayLine::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_) {
    if (due_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      cv_.wait_until(lock, first->first);
      continue;
    }
    std::function<void()> task = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace keel::failpoint
