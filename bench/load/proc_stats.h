// What a run costs in CPU and memory: this process's (getrusage) and a local server's, read from
// /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmHWM, VmRSS).
#ifndef KEEL_BENCH_LOAD_PROC_STATS_H_
#define KEEL_BENCH_LOAD_PROC_STATS_H_

#include <cstdint>

#include "keel/status.h"

namespace keel::bench {

struct ProcSample {
  double cpu_s = 0;              // user + system seconds since the process started
  uint64_t peak_rss_bytes = 0;   // VmHWM: the high-water mark since start or the last reset
  uint64_t rss_bytes = 0;        // VmRSS now
};

Result<ProcSample> read_proc(int pid);

// Resets the process's VmHWM to its current RSS (writes 5 to /proc/<pid>/clear_refs), so the
// peak read at the end is the peak of this run, not of the server's life. False when refused
// (another user's process, or a kernel without it): the reported peak is then the lifetime peak.
bool reset_peak_rss(int pid);

// This process's user + system CPU seconds so far.
double self_cpu_seconds();

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_PROC_STATS_H_
