#include "test_cluster.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace keel::raft::test {

namespace {

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "test cluster: %s\n", what.c_str());
  std::abort();
}

}  // namespace

Config TestConfig(NodeId id, const Storage* storage, RandomSource* random) {
  Config c;
  c.id = id;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.storage = storage;
  c.random = random;
  c.max_size_per_msg = UINT64_MAX;
  c.max_inflight_msgs = 256;
  c.check_quorum = false;
  c.pre_vote = false;
  return c;
}

void Persist(Raft& r, MemoryStorage& s) {
  auto snap = r.log().snapshot();
  if (r.log().has_pending_snapshot()) {
    if (!s.apply_snapshot(*snap).ok()) Die("apply_snapshot");
    r.log().stable_snap_to(snap->metadata.index);
    r.log().applied_snapshot(snap->metadata.index);
  }
  std::vector<Entry> ents = r.log().unstable_entries();
  if (!ents.empty()) {
    if (!s.append(ents).ok()) Die("append");
    r.log().stable_to(ents.back().index, ents.back().term);
    r.on_persisted(ents.back().index, ents.back().term);
  }
  s.set_hard_state(r.hard_state());
}

Solo MakeSolo(NodeId id, std::vector<NodeId> voters, std::vector<NodeId> learners,
              std::function<void(Config&)> tweak) {
  Solo s;
  s.storage = std::make_unique<MemoryStorage>();
  s.random = std::make_unique<SplitMix64>(id * 7919);
  if (!s.storage->Bootstrap(ConfState{voters, learners}).ok()) Die("bootstrap");
  Config c = TestConfig(id, s.storage.get(), s.random.get());
  if (tweak) tweak(c);
  auto r = Raft::Create(c);
  if (!r.ok()) Die(r.status().to_string());
  s.raft = std::move(*r);
  return s;
}

Solo MakeSoloWithLog(NodeId id, std::vector<NodeId> voters, const std::vector<Entry>& ents,
                     uint64_t term, std::function<void(Config&)> tweak) {
  Solo s;
  s.storage = std::make_unique<MemoryStorage>();
  s.random = std::make_unique<SplitMix64>(id * 7919);
  if (!s.storage->Bootstrap(ConfState{voters, {}}).ok()) Die("bootstrap");
  if (!s.storage->append(ents).ok()) Die("append");
  s.storage->set_hard_state(HardState{term, kNone, 1});
  Config c = TestConfig(id, s.storage.get(), s.random.get());
  if (tweak) tweak(c);
  auto r = Raft::Create(c);
  if (!r.ok()) Die(r.status().to_string());
  s.raft = std::move(*r);
  return s;
}

Cluster::Cluster(std::vector<NodeId> voters, std::vector<NodeId> learners,
                 std::function<void(Config&)> tweak)
    : tweak_(std::move(tweak)) {
  ConfState cs{voters, learners};
  std::vector<NodeId> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  for (NodeId id : all) {
    auto p = std::make_unique<Peer>();
    p->id = id;
    p->storage = std::make_unique<MemoryStorage>();
    if (!p->storage->Bootstrap(cs).ok()) Die("bootstrap");
    p->random = std::make_unique<SplitMix64>(id * 104729);
    p->applied_index = 1;
    p->conf_state = cs;
    make_node(*p, 0);
    peers_[id] = std::move(p);
  }
}

void Cluster::make_node(Peer& p, uint64_t applied) {
  Config c = TestConfig(p.id, p.storage.get(), p.random.get());
  c.applied = applied;
  if (tweak_) tweak_(c);
  auto n = RawNode::Create(c);
  if (!n.ok()) Die(n.status().to_string());
  p.node = std::move(*n);
}

void Cluster::add_empty_peer(NodeId id) {
  auto p = std::make_unique<Peer>();
  p->id = id;
  p->storage = std::make_unique<MemoryStorage>();
  p->random = std::make_unique<SplitMix64>(id * 104729);
  make_node(*p, 0);
  peers_[id] = std::move(p);
}

void Cluster::restart(NodeId id) {
  Peer& p = *peers_.at(id);
  // The application state is rebuilt from the snapshot; committed entries after it are applied
  // again from the log.
  auto snap = p.storage->snapshot();
  p.applied_index = snap->metadata.index;
  p.conf_state = snap->metadata.conf_state;
  while (!p.applied.empty() && p.applied.back().index > p.applied_index) p.applied.pop_back();
  make_node(p, snap->metadata.index);
}

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, p] : peers_) out.push_back(id);
  return out;
}

std::vector<Message> Cluster::process_ready(NodeId id, bool queue) {
  Peer& p = *peers_.at(id);
  RawNode& n = *p.node;
  if (!n.has_ready()) return {};
  Ready rd = n.ready();
  if (on_ready) on_ready(id, rd);
  if (!rd.snapshot.empty()) {
    if (!p.storage->apply_snapshot(rd.snapshot).ok()) Die("apply_snapshot");
  }
  if (!p.storage->append(rd.entries).ok()) Die("append");
  if (rd.hard_state) p.storage->set_hard_state(*rd.hard_state);
  if (!rd.snapshot.empty()) {
    p.applied_index = rd.snapshot.metadata.index;
    p.conf_state = rd.snapshot.metadata.conf_state;
  }
  for (const Entry& e : rd.committed_entries) {
    if (e.index != p.applied_index + 1 && p.applied_index != 0) {
      Die("apply out of order at " + std::to_string(id));
    }
    p.applied_index = e.index;
    p.applied.push_back(e);
    if (e.type == EntryType::kConfChange) {
      auto cc = DecodeConfChange(e.data);
      if (!cc.ok()) Die("bad conf change");
      auto cs = n.apply_conf_change(*cc);
      if (cs.ok()) p.conf_state = *cs;
    }
  }
  for (const ReadState& rs : rd.read_states) p.reads.push_back(rs);
  n.advance();
  if (queue) {
    for (const Message& m : rd.messages) queue_.push_back(m);
  }
  return rd.messages;
}

bool Cluster::deliverable(const Message& m) const {
  if (!peers_.count(m.to)) return false;
  if (cut_.count({m.from, m.to})) return false;
  if (ignored_.count(m.type)) return false;
  if (hook && !hook(m)) return false;
  return true;
}

void Cluster::stabilize() {
  for (int rounds = 0; rounds < 100000; ++rounds) {
    bool moved = false;
    for (auto& [id, p] : peers_) {
      if (p->node->has_ready()) {
        process_ready(id);
        moved = true;
      }
    }
    while (!queue_.empty()) {
      Message m = std::move(queue_.front());
      queue_.pop_front();
      moved = true;
      if (!deliverable(m)) continue;
      auto decoded = DecodeMessage(EncodeMessage(m));
      if (!decoded.ok() || !(*decoded == m)) Die("codec round trip: " + DescribeMessage(m));
      (void)peers_.at(m.to)->node->step(*decoded);
      if (peers_.at(m.to)->node->has_ready()) process_ready(m.to);
    }
    if (!moved) {
      check_invariants();
      return;
    }
  }
  Die("stabilize did not converge");
}

void Cluster::check_invariants() {
  for (const auto& [id, p] : peers_) {
    const Raft& r = p->node->raft();
    if (r.role() != Role::kLeader) continue;
    auto [it, inserted] = leaders_seen.emplace(r.term(), id);
    EXPECT_EQ(it->second, id) << "two leaders in term " << r.term();
  }
  for (const auto& [a, pa] : peers_) {
    for (const auto& [b, pb] : peers_) {
      if (a >= b) continue;
      const RaftLog& la = pa->node->raft().log();
      const RaftLog& lb = pb->node->raft().log();
      const uint64_t hi = std::min(la.committed(), lb.committed());
      const uint64_t lo = std::max(la.first_index(), lb.first_index());
      for (uint64_t i = lo; i <= hi; ++i) {
        auto ea = la.slice(i, i + 1, UINT64_MAX);
        auto eb = lb.slice(i, i + 1, UINT64_MAX);
        if (!ea.ok() || !eb.ok()) continue;
        EXPECT_EQ((*ea)[0], (*eb)[0])
            << "members " << a << " and " << b << " disagree on committed entry " << i;
      }
    }
  }
}

void Cluster::send(const Message& m) {
  queue_.push_back(m);
  stabilize();
}

void Cluster::tick(NodeId id, int n) {
  for (int i = 0; i < n; ++i) node(id).tick();
}

void Cluster::tick_all(int n) {
  for (int i = 0; i < n; ++i) {
    for (auto& [id, p] : peers_) p->node->tick();
    stabilize();
  }
}

void Cluster::campaign(NodeId id) {
  node(id).campaign();
  stabilize();
}

Status Cluster::propose(NodeId id, const std::string& data) {
  Status s = node(id).propose(data);
  stabilize();
  return s;
}

void Cluster::isolate(NodeId id) {
  for (const auto& [other, p] : peers_) {
    if (other == id) continue;
    cut(id, other);
  }
}

void Cluster::cut(NodeId a, NodeId b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

std::vector<Entry> Cluster::log_of(NodeId id) const {
  return peers_.at(id)->node->raft().log().all_entries();
}

NodeId Cluster::leader() const {
  NodeId best = kNone;
  uint64_t term = 0;
  for (const auto& [id, p] : peers_) {
    const Raft& r = p->node->raft();
    if (r.role() == Role::kLeader && r.term() >= term) {
      best = id;
      term = r.term();
    }
  }
  return best;
}

}  // namespace keel::raft::test
