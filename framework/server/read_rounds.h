// ReadRounds: the linearizable reads of one member between asking Raft for a read index and
// being served (etcd's ReadIndex, §6.4 of the Raft dissertation). Many reads share one round: the
// Raft thread starts a round under a context unique across the cluster and restarts; Raft answers
// the context with the leader's commit index; the round's reads are then released once the
// member has applied that index — at once when it has, or by the apply thread when it gets there.
//
// A round Raft never answers (leadership moved before the leader confirmed it) is taken out when
// the leader changes or when its deadline passes, for its reads to fail; a round answered already
// stays valid across a leader change: the index was the leader's commit index when it led.
//
// The class hands callbacks back instead of calling them, so nothing runs under its lock.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_SERVER_READ_ROUNDS_H_
#define KEEL_SERVER_READ_ROUNDS_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace keel::server {

template <typename Callback>
class ReadRounds {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // `applied`: the member's applied index, which the apply thread raises before it calls
  // reached().
  explicit ReadRounds(const std::atomic<uint64_t>& applied) : applied_(applied) {}

  // Raft asked for a read index under `ctx` for `reads`; they fail at `deadline` unanswered.
  void start(const std::string& ctx, std::vector<Callback> reads, Time deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    asked_[ctx] = Round{std::move(reads), deadline};
  }

  // Raft answered `ctx` with `index`: the reads to serve now (empty when the member has not
  // applied `index` yet: reached() releases them then, or when `ctx` is not a round of ours).
  std::vector<Callback> answered(const std::string& ctx, uint64_t index) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = asked_.find(ctx);
    if (it == asked_.end()) return {};
    std::vector<Callback> reads = std::move(it->second.reads);
    asked_.erase(it);
    // Read under the lock: an apply thread that raised the index after this read calls
    // reached() after this returns, and finds the reads there.
    if (applied_.load() >= index) return reads;
    std::vector<Callback>& waiting = at_index_[index];
    for (Callback& r : reads) waiting.push_back(std::move(r));
    return {};
  }

  // The member applied up to `applied`: the reads waiting for an index up to it.
  std::vector<Callback> reached(uint64_t applied) {
    std::vector<Callback> out;
    std::lock_guard<std::mutex> lock(mu_);
    auto end = at_index_.upper_bound(applied);
    for (auto it = at_index_.begin(); it != end; ++it) {
      for (Callback& r : it->second) out.push_back(std::move(r));
    }
    at_index_.erase(at_index_.begin(), end);
    return out;
  }

  // Takes out the rounds Raft has not answered (with `rounds` set to how many there were).
  std::vector<Callback> take_unanswered(size_t* rounds) {
    return take_asked([](const Round&) { return true; }, rounds);
  }

  // Takes out the unanswered rounds whose deadline is at or before `now`.
  std::vector<Callback> take_expired(Time now, size_t* rounds) {
    return take_asked([now](const Round& r) { return r.deadline <= now; }, rounds);
  }

  // Every read, answered or not (the member stops).
  std::vector<Callback> take_all() {
    size_t rounds = 0;
    std::vector<Callback> out = take_unanswered(&rounds);
    std::vector<Callback> rest = reached(UINT64_MAX);
    for (Callback& r : rest) out.push_back(std::move(r));
    return out;
  }

 private:
  struct Round {
    std::vector<Callback> reads;
    Time deadline;
  };

  template <typename Pred>
  std::vector<Callback> take_asked(Pred pred, size_t* rounds) {
    std::vector<Callback> out;
    *rounds = 0;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = asked_.begin(); it != asked_.end();) {
      if (pred(it->second)) {
        ++*rounds;
        for (Callback& r : it->second.reads) out.push_back(std::move(r));
        it = asked_.erase(it);
      } else {
        ++it;
      }
    }
    return out;
  }

  const std::atomic<uint64_t>& applied_;
  std::mutex mu_;
  std::map<std::string, Round> asked_;                   // by context
  std::map<uint64_t, std::vector<Callback>> at_index_;  // answered, by read index
};

}  // namespace keel::server

#endif  // KEEL_SERVER_READ_ROUNDS_H_
