#include "run_state.h"

#include <algorithm>

namespace keel::bench {

std::atomic<bool> g_interrupted{false};

OpSource::OpSource(uint64_t total, std::optional<double> duration_s, double rate)
    : total_(total), duration_s_(duration_s), rate_(rate) {}

void OpSource::start() {
  start_ = Clock::now();
  if (duration_s_) {
    end_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*duration_s_));
  }
}

std::optional<OpSource::Claim> OpSource::next() {
  if (stopped_.load(std::memory_order_relaxed) || g_interrupted.load(std::memory_order_relaxed)) {
    return std::nullopt;
  }
  const uint64_t i = next_.fetch_add(1, std::memory_order_relaxed);
  if (!duration_s_ && i >= total_) return std::nullopt;
  Clock::time_point at = start_;
  if (rate_ > 0) {
    at += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(static_cast<double>(i) / rate_));
  }
  if (duration_s_ && std::max(at, Clock::now()) >= end_) return std::nullopt;
  return Claim{i, at};
}

double OpSource::progress(uint64_t completed) const {
  if (duration_s_) {
    return std::min(1.0, std::chrono::duration<double>(Clock::now() - start_).count() / *duration_s_);
  }
  return std::min(1.0, static_cast<double>(completed) / static_cast<double>(total_));
}

void Stats::merge(const Stats& o) {
  latency.merge(o.latency);
  reads.merge(o.reads);
  writes.merge(o.writes);
  ok += o.ok;
  errors += o.errors;
  events += o.events;
  for (const auto& [text, n] : o.error_texts) error_texts[text] += n;
}

Stats RunStats::merged() const {
  Stats all;
  for (const auto& s : per_queue) all.merge(s);
  return all;
}

}  // namespace keel::bench
