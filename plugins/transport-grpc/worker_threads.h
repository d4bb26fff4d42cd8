// A bounded set of threads for work that waits on a slow party for as long as it takes: a
// snapshot's source on the sending side, its handler on the receiving side. Such work gets a
// thread of its own so it never holds up gRPC's threads, which deliver the frames.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_WORKER_THREADS_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_WORKER_THREADS_H_

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace keel::grpc_transport {

class WorkerThreads {
 public:
  explicit WorkerThreads(size_t limit) : limit_(limit) {}
  ~WorkerThreads() { join_all(); }
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;

  // Runs `work` on a new thread. False (and `work` is not run) when `limit` threads run already,
  // when join_all() has begun, or when no thread can be made.
  bool start(std::function<void()> work);
  // Refuses new work and joins every thread. Idempotent.
  void join_all();

 private:
  struct Slot {
    std::thread thread;
    bool finished = false;
  };
  void reap_locked();

  const size_t limit_;
  std::mutex mu_;
  std::list<Slot> slots_;  // a list: a Slot stays where it is while its thread runs
  bool closed_ = false;
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_WORKER_THREADS_H_
