// Raft kernel throughput: proposals committed per second in a 3-member cluster held in memory
// and driven through ready()/advance() — no I/O, no codec, no threads. What it measures is the
// cost of the state machine itself (log, progress, quorum, Ready assembly) per committed entry.
//
//   raft_bench --benchmark_filter=BM_ProposeCommit
//
// Args: entry size in bytes, proposals per batch (all proposed before the cluster is driven).
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "raft/raft.h"

namespace {

using namespace keel::raft;

struct Member {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<SplitMix64> random;
  std::unique_ptr<RawNode> node;
  uint64_t applied = 0;
};

class BenchCluster {
 public:
  BenchCluster() {
    ConfState cs{{1, 2, 3}, {}};
    for (NodeId id = 1; id <= 3; ++id) {
      Member& m = members_[id - 1];
      m.storage = std::make_unique<MemoryStorage>();
      (void)m.storage->Bootstrap(cs);
      m.random = std::make_unique<SplitMix64>(id);
      Config c;
      c.id = id;
      c.storage = m.storage.get();
      c.random = m.random.get();
      c.max_size_per_msg = 1 << 20;
      c.max_inflight_msgs = 256;
      auto node = RawNode::Create(c);
      m.node = std::move(*node);
    }
    members_[0].node->campaign();
    drive();
  }

  RawNode& leader() { return *members_[0].node; }
  uint64_t leader_applied() const { return members_[0].applied; }

  void drive() {
    for (;;) {
      bool moved = false;
      for (int i = 0; i < 3; ++i) {
        Member& m = members_[i];
        if (!m.node->has_ready()) continue;
        moved = true;
        Ready rd = m.node->ready();
        if (!rd.snapshot.empty()) (void)m.storage->apply_snapshot(rd.snapshot);
        (void)m.storage->append(rd.entries);
        if (rd.hard_state) m.storage->set_hard_state(*rd.hard_state);
        for (Message& msg : rd.messages) queue_.push_back(std::move(msg));
        if (!rd.committed_entries.empty()) m.applied = rd.committed_entries.back().index;
        m.node->advance();
        // Keep memory flat over long runs: compact what everyone applied.
        if (m.applied > m.storage->snapshot()->metadata.index + 50000) {
          (void)m.storage->create_snapshot(m.applied, ConfState{{1, 2, 3}, {}}, "");
          (void)m.storage->compact(m.applied);
        }
      }
      while (!queue_.empty()) {
        moved = true;
        Message msg = std::move(queue_.front());
        queue_.pop_front();
        (void)members_[msg.to - 1].node->step(msg);
      }
      if (!moved) return;
    }
  }

 private:
  Member members_[3];
  std::deque<Message> queue_;
};

void BM_ProposeCommit(benchmark::State& state) {
  const std::string payload(static_cast<size_t>(state.range(0)), 'x');
  const int batch = static_cast<int>(state.range(1));
  BenchCluster c;
  int64_t committed = 0;
  for (auto _ : state) {
    const uint64_t before = c.leader_applied();
    for (int i = 0; i < batch; ++i) {
      if (!c.leader().propose(payload).ok()) state.SkipWithError("proposal refused");
    }
    c.drive();
    committed += static_cast<int64_t>(c.leader_applied() - before);
  }
  state.SetItemsProcessed(committed);
  state.SetBytesProcessed(committed * state.range(0));
  state.counters["entries/s"] =
      benchmark::Counter(static_cast<double>(committed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProposeCommit)
    ->ArgNames({"bytes", "batch"})
    ->Args({64, 1})
    ->Args({64, 100})
    ->Args({1024, 1})
    ->Args({1024, 100});

}  // namespace
