// AutoCompactor: when the leader should compact, and to which revision (etcd 3.4's compactors,
// --auto-compaction-mode with --auto-compaction-retention):
//
//   periodic  keeps `period` of history: it samples the current revision every tenth of
//             min(period, 1 h); once `period` has passed since it started, and then every
//             min(period, 1 h), it compacts to the revision sampled `period` ago.
//   revision  keeps `revisions` revisions: every 5 minutes it compacts to current - revisions.
//
// It decides only; the member proposes the compaction through Raft. Time is passed in, so tests
// drive it with a fake clock.
//
// Thread safety: none (the Raft thread owns it).
#ifndef KEEL_SERVER_AUTO_COMPACTOR_H_
#define KEEL_SERVER_AUTO_COMPACTOR_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>

namespace keel::server {

struct AutoCompactionPolicy {
  enum class Mode { kOff, kPeriodic, kRevision };
  Mode mode = Mode::kOff;
  std::chrono::nanoseconds period{0};  // periodic: the history kept (0: off)
  int64_t revisions = 0;               // revision: the revisions kept (0: off)
};

class AutoCompactor {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // etcd's revInterval for the revision mode.
  static constexpr std::chrono::minutes kRevisionInterval{5};

  explicit AutoCompactor(AutoCompactionPolicy policy = {}) : policy_(policy) {}

  bool enabled() const;
  // Starts over (the member became leader at `now`): history seen before is forgotten.
  void restart(Time now);
  // Called often (every tick) on the leader with the store's current and compacted revisions.
  // Returns the revision to compact to now, or 0.
  int64_t poll(Time now, int64_t current, int64_t compacted);

 private:
  int64_t poll_periodic(Time now, int64_t current);
  int64_t poll_revision(Time now, int64_t current);

  AutoCompactionPolicy policy_;
  bool started_ = false;
  Time next_sample_{};
  Time next_compaction_{};
  std::deque<std::pair<Time, int64_t>> samples_;  // periodic: (when, revision), oldest first
  int64_t last_ = 0;                              // the last revision asked for
};

}  // namespace keel::server

#endif  // KEEL_SERVER_AUTO_COMPACTOR_H_
