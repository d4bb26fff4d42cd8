// AccessGate: lets many users of the LMDB environment in at once (read transactions, stats,
// copies) and one exclusive user alone (growing the map, swapping the file after defragment,
// closing). LMDB remaps the file when the map grows, so no read transaction may be alive then.
//
// A waiting exclusive user holds new shared users back (else a stream of readers would starve it),
// except a thread that already holds the gate shared: it would otherwise deadlock on itself.
// Shared holds are counted per thread that took them; release passes the same thread id.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_ACCESS_GATE_H_
#define KEEL_PLUGINS_BACKEND_LMDB_ACCESS_GATE_H_

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace keel::backend_lmdb {

class AccessGate {
 public:
  // Returns the id to pass to unlock_shared.
  std::thread::id lock_shared() {
    std::thread::id self = std::this_thread::get_id();
    std::unique_lock<std::mutex> lock(mu_);
    bool reentrant = held_.count(self) != 0;
    cv_.wait(lock, [&] { return !exclusive_ && (reentrant || waiting_ == 0); });
    ++held_[self];
    ++shared_;
    return self;
  }

  void unlock_shared(std::thread::id holder) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = held_.find(holder);
    if (it != held_.end() && --it->second == 0) held_.erase(it);
    if (--shared_ == 0) cv_.notify_all();
  }

  // True if the calling thread holds the gate shared (it must not wait for exclusive access).
  bool held_by_this_thread() {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.count(std::this_thread::get_id()) != 0;
  }

  void lock() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.wait(lock, [&] { return !exclusive_ && shared_ == 0; });
    --waiting_;
    exclusive_ = true;
  }

  // lock(), giving up after `timeout`; false if it did (held-back readers then go on).
  template <typename Duration>
  bool try_lock_for(Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    bool got = cv_.wait_for(lock, timeout, [&] { return !exclusive_ && shared_ == 0; });
    --waiting_;
    if (got) {
      exclusive_ = true;
    } else {
      cv_.notify_all();
    }
    return got;
  }

  void unlock() {
    std::lock_guard<std::mutex> lock(mu_);
    exclusive_ = false;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::thread::id, int> held_;
  int shared_ = 0;
  int waiting_ = 0;
  bool exclusive_ = false;
};

// Holds the gate shared for a scope.
class SharedAccess {
 public:
  explicit SharedAccess(AccessGate& gate) : gate_(gate), holder_(gate.lock_shared()) {}
  ~SharedAccess() { gate_.unlock_shared(holder_); }
  SharedAccess(const SharedAccess&) = delete;
  SharedAccess& operator=(const SharedAccess&) = delete;

 private:
  AccessGate& gate_;
  std::thread::id holder_;
};

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_ACCESS_GATE_H_
