// ProposalWaiters: the callers waiting for their proposal to be applied, by request id, with the
// deadline of each and the leadership it was handed to Raft under.
//
// A proposal handed to Raft under one leader may be lost when leadership changes (the old
// leader's uncommitted tail is overwritten, a forwarded proposal is dropped on the way), and
// nothing would ever answer it but its deadline. So the Raft thread counts leader changes (the
// "leader epoch"), records the epoch each proposal was handed to Raft in, and takes out the
// stranded ones — handed in an earlier epoch — when the leader changes, to fail them at once
// with "leader changed", as stranded reads are. Such a proposal may still
// be applied later (a new leader can commit it): its answer then finds no waiter, as etcd's
// timed-out proposals do.
//
// The class hands callbacks back instead of calling them, so nothing runs under its lock.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_SERVER_PROPOSAL_WAITERS_H_
#define KEEL_SERVER_PROPOSAL_WAITERS_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace keel::server {

template <typename Callback>
class ProposalWaiters {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // Waits for `id` until `deadline`; not yet handed to Raft.
  void add(uint64_t id, Callback done, Time deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_[id] = Waiter{std::move(done), deadline, kNotHanded};
  }

  // The Raft thread handed these proposals to Raft in leader epoch `epoch` (>= 1).
  void handed(const std::vector<uint64_t>& ids, uint64_t epoch) {
    std::lock_guard<std::mutex> lock(mu_);
    for (uint64_t id : ids) {
      auto it = waiting_.find(id);
      if (it != waiting_.end()) it->second.epoch = epoch;
    }
  }

  // The callback waiting for `id`, taken out (empty when none waits: another member's proposal,
  // one replayed after a restart, or one already failed).
  Callback take(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return Callback();
    Callback done = std::move(it->second.done);
    waiting_.erase(it);
    return done;
  }

  // Takes out those whose deadline is at or before `now`.
  std::vector<Callback> take_expired(Time now) {
    return take_if([now](const Waiter& w) { return w.deadline <= now; });
  }

  // Takes out those handed to Raft in an epoch before `epoch`: the leader they went to is gone.
  std::vector<Callback> take_stranded(uint64_t epoch) {
    return take_if([epoch](const Waiter& w) { return w.epoch != kNotHanded && w.epoch < epoch; });
  }

  std::vector<Callback> take_all() {
    return take_if([](const Waiter&) { return true; });
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_.size();
  }

 private:
  static constexpr uint64_t kNotHanded = 0;
  struct Waiter {
    Callback done;
    Time deadline;
    uint64_t epoch;
  };

  template <typename Pred>
  std::vector<Callback> take_if(Pred pred) {
    std::vector<Callback> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if (pred(it->second)) {
        out.push_back(std::move(it->second.done));
        it = waiting_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  mutable std::mutex mu_;
  std::map<uint64_t, Waiter> waiting_;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_PROPOSAL_WAITERS_H_
