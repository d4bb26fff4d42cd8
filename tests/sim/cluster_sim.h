// A deterministic simulator of a keel Raft cluster: one seed decides everything. Virtual time
// advances in ticks; a network delays, drops, duplicates and reorders messages and is cut by
// partitions that come and go; members crash (losing all but what they persisted) and restart;
// learners join and are promoted; leaders are asked to transfer; clients write and read. After
// every step an InvariantChecker verifies Raft's safety properties; at the end the network heals
// and a leader must be elected and commit a proposal within a bounded number of ticks.
//
// No threads, no clock, no sleeps; ordered containers only.
#ifndef KEEL_TESTS_SIM_CLUSTER_SIM_H_
#define KEEL_TESTS_SIM_CLUSTER_SIM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "invariants.h"
#include "raft/raft.h"

namespace keel::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int steps = 1000;          // chaos steps before the liveness phase
  int liveness_ticks = 400;  // bound for electing a leader and committing after healing
  bool trace = false;        // print every event to stderr
};

struct SimResult {
  bool ok = true;
  std::string failure;  // the first violation, with the step it happened at
  int steps = 0;
  uint64_t commits = 0;  // highest commit index reached
  uint64_t reads_answered = 0;
  uint64_t snapshots_sent = 0;
  uint64_t elections = 0;
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace keel::raft::sim

#endif  // KEEL_TESTS_SIM_CLUSTER_SIM_H_
