// The shared state of one timed run: which operation comes next and when it may start
// (OpSource), and what the operations came to (Stats, one per completion queue).
#ifndef KEEL_BENCH_LOAD_RUN_STATE_H_
#define KEEL_BENCH_LOAD_RUN_STATE_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "histogram.h"
#include "options.h"

namespace keel::bench {

using Clock = std::chrono::steady_clock;

// Set by SIGINT: every OpSource stops handing out operations, so a run ends early but reports.
extern std::atomic<bool> g_interrupted;

// Hands out operation numbers 0, 1, 2, ... to any number of clients, until --total are out or
// --duration has passed. With --rate, operation i may not start before start + i / rate (an open
// schedule: a slow reply delays no other client's sends).
class OpSource {
 public:
  struct Claim {
    uint64_t index;
    Clock::time_point not_before;
  };

  OpSource(uint64_t total, std::optional<double> duration_s, double rate);

  // Starts the clock; call before the first next().
  void start();
  std::optional<Claim> next();
  // No more claims after this (a fatal error).
  void stop() { stopped_.store(true, std::memory_order_relaxed); }

  Clock::time_point start_time() const { return start_; }
  // Fraction of the run done, for the progress bar: by operations claimed or by time.
  double progress(uint64_t completed) const;

 private:
  uint64_t total_;
  std::optional<double> duration_s_;
  double rate_;
  Clock::time_point start_;
  Clock::time_point end_;
  std::atomic<uint64_t> next_{0};
  std::atomic<bool> stopped_{false};
};

// What the operations on one completion queue came to; merged when the run ends.
struct Stats {
  Histogram latency;                 // every successful operation (watches: put -> event)
  Histogram reads, writes;           // mixed: each kind on its own
  uint64_t ok = 0;
  uint64_t errors = 0;
  uint64_t events = 0;               // watch events received
  std::map<std::string, uint64_t> error_texts;  // "Unavailable: etcdserver: no leader" -> count

  void error(const std::string& text) {
    ++errors;
    if (error_texts.size() < 16 || error_texts.count(text)) ++error_texts[text];
  }
  void merge(const Stats& other);
};

// One Stats per completion queue, and the counters the progress bar reads.
struct RunStats {
  explicit RunStats(int queues) : per_queue(static_cast<size_t>(queues)) {}
  std::vector<Stats> per_queue;
  std::atomic<uint64_t> completed{0};  // operations finished, ok or not
  Stats merged() const;
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_RUN_STATE_H_
