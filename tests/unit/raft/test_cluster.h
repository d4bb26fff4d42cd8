// Test helpers for keel's Raft kernel: a synchronous in-process network of RawNodes in the style
// of etcd raft's `network` (send, drop, cut, isolate, ignore), with no threads and no sleeps.
// Every message crosses the network through the binary codec, so the tests also exercise it.
#ifndef KEEL_TESTS_UNIT_RAFT_TEST_CLUSTER_H_
#define KEEL_TESTS_UNIT_RAFT_TEST_CLUSTER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft.h"

namespace keel::raft::test {

// A Config with the usual test settings (election 10 ticks, heartbeat 1; pre-vote and check
// quorum off unless a test turns them on, as in etcd's paper tests).
Config TestConfig(NodeId id, const Storage* storage, RandomSource* random);

// Makes `r` hold nothing unstable: persists its unstable entries into `s` as a driver would and
// tells it they are durable. For tests that drive a Raft directly.
void Persist(Raft& r, MemoryStorage& s);

// A bare Raft on a MemoryStorage holding `voters` (and `learners`), for single-member tests.
struct Solo {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<SplitMix64> random;
  std::unique_ptr<Raft> raft;
};
Solo MakeSolo(NodeId id, std::vector<NodeId> voters, std::vector<NodeId> learners = {},
              std::function<void(Config&)> tweak = {});
// As MakeSolo, but the storage already holds `ents` (terms as given) and hard state term `term`.
Solo MakeSoloWithLog(NodeId id, std::vector<NodeId> voters, const std::vector<Entry>& ents,
                     uint64_t term, std::function<void(Config&)> tweak = {});

struct Peer {
  NodeId id = kNone;
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<SplitMix64> random;
  std::unique_ptr<RawNode> node;
  std::vector<Entry> applied;    // every committed entry applied, in order
  std::vector<ReadState> reads;  // every read state received
  uint64_t applied_index = 0;
  ConfState conf_state;
};

class Cluster {
 public:
  // Founding members `voters` (+ `learners`), bootstrapped at index 1 term 1.
  explicit Cluster(std::vector<NodeId> voters, std::vector<NodeId> learners = {},
                   std::function<void(Config&)> tweak = {});

  // Adds a member with an empty log (it learns the membership from the leader).
  void add_empty_peer(NodeId id);
  // Restarts `id` from what its storage holds (losing everything volatile).
  void restart(NodeId id);

  Peer& peer(NodeId id) { return *peers_.at(id); }
  RawNode& node(NodeId id) { return *peers_.at(id)->node; }
  Raft& raft(NodeId id) { return peers_.at(id)->node->raft(); }
  std::vector<NodeId> ids() const;

  // Handles one Ready of `id` as a careful driver would: persist, apply, advance. Returns the
  // messages to send (which are also queued on the network unless `queue` is false).
  std::vector<Message> process_ready(NodeId id, bool queue = true);
  // Processes Readies and delivers queued messages until nothing moves.
  void stabilize();
  // Delivers `m` (as if from the network) and stabilizes.
  void send(const Message& m);
  void tick(NodeId id, int n = 1);
  void tick_all(int n = 1);
  void campaign(NodeId id);
  // Proposes at `id` and stabilizes; returns the proposal's status.
  Status propose(NodeId id, const std::string& data);

  // Faults: messages matching are silently lost.
  void isolate(NodeId id);
  void cut(NodeId a, NodeId b);
  void ignore(MessageType t) { ignored_.insert(t); }
  void recover() {
    cut_.clear();
    ignored_.clear();
  }
  // Every delivered message is offered here first; returning false drops it.
  std::function<bool(const Message&)> hook;
  // Called with every Ready before it is handled (scenario tests print them).
  std::function<void(NodeId, const Ready&)> on_ready;

  // Election safety (one leader per term among current leaders) and agreement of every pair of
  // members on the entries both know committed. Runs after every stabilize(); reports through
  // gtest.
  void check_invariants();
  std::map<uint64_t, NodeId> leaders_seen;  // term -> leader, over the cluster's life

  // Members' logs, for comparisons.
  std::vector<Entry> log_of(NodeId id) const;
  NodeId leader() const;  // the member that believes it leads in the highest term, or kNone

 private:
  void make_node(Peer& p, uint64_t applied);
  bool deliverable(const Message& m) const;

  std::function<void(Config&)> tweak_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::deque<Message> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;
  std::set<MessageType> ignored_;
};

}  // namespace keel::raft::test

#endif  // KEEL_TESTS_UNIT_RAFT_TEST_CLUSTER_H_
