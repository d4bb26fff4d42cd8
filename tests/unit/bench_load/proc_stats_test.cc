// bench/load/proc_stats.h on this very process: CPU rises when it works, the peak RSS covers
// memory it touched, and a process that does not exist is NotFound.
#include "proc_stats.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

namespace keel::bench {
namespace {

TEST(ProcStats, ReadsThisProcess) {
  auto before = read_proc(getpid());
  ASSERT_TRUE(before.ok()) << before.status().to_string();
  const double self_before = self_cpu_seconds();
  while (self_cpu_seconds() < self_before + 0.05) {
  }  // spin: 50 ms of CPU (more than one clock tick of /proc's accounting)
  auto after = read_proc(getpid());
  ASSERT_TRUE(after.ok());
  EXPECT_GT(after->cpu_s, before->cpu_s);
  EXPECT_GE(after->cpu_s - before->cpu_s, 0.02);
  EXPECT_GT(after->rss_bytes, 0u);
  EXPECT_GE(after->peak_rss_bytes, after->rss_bytes);
}

TEST(ProcStats, PeakRssCoversTouchedMemory) {
  std::vector<char> block(64 << 20, 1);  // touched: 64 MiB resident
  auto s = read_proc(getpid());
  ASSERT_TRUE(s.ok());
  EXPECT_GE(s->peak_rss_bytes, uint64_t{64} << 20);
  block.clear();
  block.shrink_to_fit();
  // A reset brings the peak down to about the current RSS (a kernel may refuse: then skip).
  if (!reset_peak_rss(getpid())) GTEST_SKIP() << "clear_refs refused";
  auto reset = read_proc(getpid());
  ASSERT_TRUE(reset.ok());
  EXPECT_LT(reset->peak_rss_bytes, s->peak_rss_bytes);
}

TEST(ProcStats, AMissingProcessIsNotFound) {
  auto s = read_proc(999'999'999);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().is_not_found());
}

}  // namespace
}  // namespace keel::bench
