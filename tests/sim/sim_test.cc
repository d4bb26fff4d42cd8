// Runs the deterministic cluster simulator over many seeds (tests/sim/cluster_sim.h).
//
//   KEEL_SIM_SEEDS       how many seeds (default 2000)
//   KEEL_SIM_SEED_START  the first seed (default 1)
//   KEEL_SIM_SEED        run only this seed (and print its trace with KEEL_SIM_TRACE=1)
//   KEEL_SIM_STEPS       chaos steps per seed (default 1000)
//
// A failing seed prints itself and the one command that replays it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cluster_sim.h"

namespace keel::raft::sim {
namespace {

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::strtoull(v, nullptr, 10) : def;
}

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "raft_sim_test";
  buf[n] = '\0';
  return buf;
}

std::string ReplayCommand(uint64_t seed, uint64_t steps) {
  return "KEEL_SIM_SEED=" + std::to_string(seed) + " KEEL_SIM_STEPS=" + std::to_string(steps) +
         " KEEL_SIM_TRACE=1 " + SelfPath() + " --gtest_filter=RaftSim.Seeds";
}

// A kernel abort (a broken internal invariant) kills the process: say which seed did it.
volatile uint64_t g_current_seed = 0;
volatile uint64_t g_steps = 0;
char g_replay_prefix[256];

void OnAbort(int) {
  char line[512];
  int n = std::snprintf(line, sizeof(line),
                        "\nraft sim: aborted while running seed %llu; replay: KEEL_SIM_SEED=%llu "
                        "KEEL_SIM_STEPS=%llu %s --gtest_filter=RaftSim.Seeds\n",
                        static_cast<unsigned long long>(g_current_seed),
                        static_cast<unsigned long long>(g_current_seed),
                        static_cast<unsigned long long>(g_steps), g_replay_prefix);
  if (n > 0) (void)!write(2, line, static_cast<size_t>(n));
  std::signal(SIGABRT, SIG_DFL);
}

TEST(RaftSim, Seeds) {
  const uint64_t steps = EnvU64("KEEL_SIM_STEPS", 1000);
  uint64_t first = EnvU64("KEEL_SIM_SEED_START", 1);
  uint64_t count = EnvU64("KEEL_SIM_SEEDS", 2000);
  const bool single = std::getenv("KEEL_SIM_SEED") != nullptr;
  if (single) {
    first = EnvU64("KEEL_SIM_SEED", 1);
    count = 1;
  }
  const bool trace = single && EnvU64("KEEL_SIM_TRACE", 0) != 0;
  std::snprintf(g_replay_prefix, sizeof(g_replay_prefix), "%s", SelfPath().c_str());
  g_steps = steps;
  std::signal(SIGABRT, OnAbort);

  uint64_t total_steps = 0, total_reads = 0, total_snaps = 0, total_commits = 0, failures = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    g_current_seed = seed;
    SimOptions o;
    o.seed = seed;
    o.steps = static_cast<int>(steps);
    o.trace = trace;
    SimResult r = RunSimulation(o);
    total_steps += static_cast<uint64_t>(r.steps);
    total_reads += r.reads_answered;
    total_snaps += r.snapshots_sent;
    total_commits += r.commits;
    if (trace || EnvU64("KEEL_SIM_VERBOSE", 0) != 0) {
      std::printf("seed %llu: commit index %llu, reads %llu, snapshots %llu\n",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(r.commits),
                  static_cast<unsigned long long>(r.reads_answered),
                  static_cast<unsigned long long>(r.snapshots_sent));
    }
    if (!r.ok) {
      ++failures;
      ADD_FAILURE() << "seed " << seed << " failed: " << r.failure
                    << "\n  replay: " << ReplayCommand(seed, steps);
      if (failures >= 5) break;
    }
  }
  std::signal(SIGABRT, SIG_DFL);
  std::printf(
      "raft sim: seeds %llu..%llu, %llu chaos steps, %llu reads answered, %llu snapshots "
      "sent, %llu entries committed, %llu failures\n",
      static_cast<unsigned long long>(first), static_cast<unsigned long long>(first + count - 1),
      static_cast<unsigned long long>(total_steps), static_cast<unsigned long long>(total_reads),
      static_cast<unsigned long long>(total_snaps), static_cast<unsigned long long>(total_commits),
      static_cast<unsigned long long>(failures));
}

}  // namespace
}  // namespace keel::raft::sim
