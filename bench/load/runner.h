// run_workload: one keel-bench run from connecting to the report, with the server's and the
// harness's CPU sampled around the timed part only (not the prefill, not the connecting).
#ifndef KEEL_BENCH_LOAD_RUNNER_H_
#define KEEL_BENCH_LOAD_RUNNER_H_

#include "options.h"
#include "report.h"

namespace keel::bench {

// REQUIRES: `o` outlives the returned report (it points at it).
Report run_workload(const Options& o);

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_RUNNER_H_
