// TaskPool: a few threads running queued tasks in order of arrival (the member's read pool).
//
// Thread safety: post() from any thread. stop() runs what is queued, then joins.
#ifndef KEEL_SERVER_TASK_POOL_H_
#define KEEL_SERVER_TASK_POOL_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace keel::server {

class TaskPool {
 public:
  explicit TaskPool(size_t threads);
  ~TaskPool() { stop(); }
  TaskPool(const TaskPool&) = delete;
  TaskPool& operator=(const TaskPool&) = delete;

  // Queues `task`; after stop() it runs on the caller's thread instead.
  void post(std::function<void()> task);
  void stop();

 private:
  void run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_TASK_POOL_H_
