#include "server/auto_compactor.h"

#include <algorithm>

namespace keel::server {

bool AutoCompactor::enabled() const {
  switch (policy_.mode) {
    case AutoCompactionPolicy::Mode::kPeriodic: return policy_.period.count() > 0;
    case AutoCompactionPolicy::Mode::kRevision: return policy_.revisions > 0;
    case AutoCompactionPolicy::Mode::kOff: break;
  }
  return false;
}

void AutoCompactor::restart(Time now) {
  started_ = true;
  samples_.clear();
  next_sample_ = now;
  next_compaction_ = policy_.mode == AutoCompactionPolicy::Mode::kPeriodic ? now + policy_.period
                                                                          : now + kRevisionInterval;
}

int64_t AutoCompactor::poll(Time now, int64_t current, int64_t compacted) {
  if (!enabled()) return 0;
  if (!started_) restart(now);
  const int64_t target = policy_.mode == AutoCompactionPolicy::Mode::kPeriodic
                             ? poll_periodic(now, current)
                             : poll_revision(now, current);
  // Nothing new to drop, or asked for already.
  if (target <= compacted || target == last_) return 0;
  last_ = target;
  return target;
}

int64_t AutoCompactor::poll_periodic(Time now, int64_t current) {
  const std::chrono::nanoseconds interval = std::min<std::chrono::nanoseconds>(policy_.period, std::chrono::hours(1));
  if (now >= next_sample_) {
    samples_.emplace_back(now, current);
    next_sample_ = now + std::max<std::chrono::nanoseconds>(interval / 10, std::chrono::nanoseconds(1));
  }
  if (now < next_compaction_) return 0;
  // The newest sample at least `period` old; the ones before it are needed no more.
  const Time horizon = now - policy_.period;
  auto newer = std::find_if(samples_.begin(), samples_.end(), [&](const auto& s) { return s.first > horizon; });
  if (newer == samples_.begin()) {
    next_compaction_ = next_sample_;
    return 0;
  }
  samples_.erase(samples_.begin(), std::prev(newer));
  next_compaction_ = now + interval;
  return samples_.front().second;
}

int64_t AutoCompactor::poll_revision(Time now, int64_t current) {
  if (now < next_compaction_) return 0;
  next_compaction_ = now + kRevisionInterval;
  return current - policy_.revisions;
}

}  // namespace keel::server
