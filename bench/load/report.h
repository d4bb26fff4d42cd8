// Report: what a run came to, printed as a table for people and as one JSON line for scripts
// (keel-bench matrix reads the JSON line).
#ifndef KEEL_BENCH_LOAD_REPORT_H_
#define KEEL_BENCH_LOAD_REPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "options.h"
#include "run_state.h"

namespace keel::bench {

struct Report {
  const Options* options = nullptr;
  Stats stats;                 // merged over the queues
  double seconds = 0;          // the timed part of the run
  // Watches: events delivered and the number every watcher seeing every put would make.
  uint64_t watchers = 0;
  uint64_t events_expected = 0;
  Stats writer;                // watches: the writer's puts
  double harness_cpu_s = 0;
  std::optional<double> server_cpu_s;
  std::optional<uint64_t> server_peak_rss_bytes;
  bool server_peak_is_run_peak = false;  // VmHWM was reset at the start
  std::string fatal;           // why the run could not be done, when it could not
};

std::string format_table(const Report& r);
std::string format_json(const Report& r);  // one line, no newline

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_REPORT_H_
