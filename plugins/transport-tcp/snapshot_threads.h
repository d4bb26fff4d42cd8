// The threads that carry snapshots, one per snapshot in flight and at most a fixed number. A
// snapshot waits on a slow party (the sender's source, the receiver's handler) for as long as it
// takes, so it gets its own thread and a blocking socket instead of an io_context thread, and the
// messages keep flowing beside it. Introductions (introduction.h) run on sets of their own, so
// neither kind can take the other's threads.
//
// stop_all() shuts down every descriptor a thread has adopted, which makes its blocked socket call
// return at once, then joins them all.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_THREADS_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_THREADS_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include <unistd.h>

#include "blocking_socket.h"

namespace keel::tcp {

class SnapshotThreads {
 public:
  // What a thread holds: its descriptor, which stop_all() may shut down.
  struct Slot {
    std::thread thread;
    int fd = -1;
    bool finished = false;
  };

  explicit SnapshotThreads(size_t limit) : limit_(limit) {}
  ~SnapshotThreads() { stop_all(); }
  SnapshotThreads(const SnapshotThreads&) = delete;
  SnapshotThreads& operator=(const SnapshotThreads&) = delete;

  // Runs `work` on a new thread. False (and `work` is not run) when `limit` threads run already,
  // when stop_all() has begun, or when no thread can be made.
  bool start(std::function<void(Slot&)> work);

  // The hooks a thread passes to connect_blocking(), and uses for a descriptor it was handed.
  SocketHooks hooks(Slot& slot);
  bool adopt(Slot& slot, int fd);
  void forget(Slot& slot);
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Shuts down every adopted descriptor and joins every thread. Idempotent.
  void stop_all();

 private:
  void reap_locked();

  const size_t limit_;
  std::mutex mu_;
  std::list<Slot> slots_;  // a list: a Slot stays where it is while its thread runs
  std::atomic<bool> stopping_{false};
};

// A descriptor a thread of `threads` adopted: forgotten by its slot (so stop_all() no longer
// shuts it down) and closed when this goes.
class OwnedFd {
 public:
  OwnedFd(SnapshotThreads& threads, SnapshotThreads::Slot& slot, int fd)
      : threads_(threads), slot_(slot), fd_(fd) {}
  ~OwnedFd() {
    threads_.forget(slot_);
    ::close(fd_);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  int get() const { return fd_; }

 private:
  SnapshotThreads& threads_;
  SnapshotThreads::Slot& slot_;
  int fd_;
};

// Adopts `fd`, a connection the asio side accepted, into `slot` for a blocking exchange on this
// thread: null (and `fd` closed) when stop_all() came first; otherwise its owner, with O_NONBLOCK
// cleared (asio may have set it).
std::unique_ptr<OwnedFd> adopt_blocking(SnapshotThreads& threads, SnapshotThreads::Slot& slot, int fd);

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_SNAPSHOT_THREADS_H_
