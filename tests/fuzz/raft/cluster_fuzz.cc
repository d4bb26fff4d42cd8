// libFuzzer target: a 3-member cluster (plus a learner that may be promoted) stepped by the
// fuzzer's bytes — which message to deliver, drop or duplicate, whom to tick, crash or restart,
// what to propose, read or compact — checking after every step the invariants of the simulator
// (tests/sim/invariants.h): election safety, log matching, leader completeness, state machine
// safety, linearizable reads. A violation aborts with the reason.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "invariants.h"
#include "raft/raft.h"

namespace {

using namespace keel::raft;
using keel::raft::sim::Fnv1a;
using keel::raft::sim::InvariantChecker;

struct Member {
  NodeId id = 0;
  bool up = false;
  std::unique_ptr<MemoryStorage> storage;
  std::map<uint64_t, uint64_t> chain;
  std::unique_ptr<SplitMix64> random;
  std::unique_ptr<RawNode> node;
  std::map<std::string, std::string> kv;
  uint64_t applied = 0;
  ConfState conf;
};

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  uint8_t next() { return i_ < n_ ? d_[i_++] : 0; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t i_ = 0;
};

uint64_t StateHash(const Member& m) {
  uint64_t h = Fnv1a("app");
  for (const auto& [k, v] : m.kv) h = Fnv1a(v, Fnv1a(k, h) * 31);
  return h;
}

std::string Encode(const Member& m) {
  std::string s;
  for (const auto& [k, v] : m.kv) s += k + "=" + v + "\n";
  return s;
}

void Decode(const std::string& s, Member* m) {
  m->kv.clear();
  size_t pos = 0;
  while (pos < s.size()) {
    size_t nl = s.find('\n', pos);
    size_t eq = s.find('=', pos);
    if (nl == std::string::npos || eq == std::string::npos || eq > nl) return;
    m->kv[s.substr(pos, eq - pos)] = s.substr(eq + 1, nl - eq - 1);
    pos = nl + 1;
  }
}

class Fuzz {
 public:
  Fuzz() {
    ConfState cs{{1, 2, 3}, {4}};
    for (NodeId id = 1; id <= 4; ++id) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->storage = std::make_unique<MemoryStorage>();
      (void)m->storage->Bootstrap(cs);
      m->chain[1] = InvariantChecker::BootstrapChain();
      inv_.record_chain(id, 1, 1, InvariantChecker::BootstrapChain());
      members_[id] = std::move(m);
      start(*members_[id]);
    }
  }

  void run(Input& in) {
    int steps = 0;
    while (!in.empty() && steps++ < 2000) {
      const uint8_t op = in.next();
      const uint8_t arg = in.next();
      Member& m = *members_[1 + arg % 4];
      switch (op % 10) {
        case 0:
        case 1:
          deliver(arg, false);
          break;
        case 2:
          if (!net_.empty()) net_.erase(net_.begin() + arg % net_.size());  // drop
          break;
        case 3:
          deliver(arg, true);  // duplicate: deliver, keep a copy
          break;
        case 4:
        case 5:
          if (m.up) m.node->tick();
          break;
        case 6:
          if (m.up)
            (void)m.node->propose("k" + std::to_string(arg % 3) + "=" + std::to_string(steps));
          break;
        case 7:
          if (m.up) {
            const std::string ctx = "r" + std::to_string(steps);
            inv_.read_issued(ctx);
            (void)m.node->read_index(ctx);
          }
          break;
        case 8:
          if (m.up && (arg & 0x10)) {
            m.up = false;
            m.node.reset();
          } else if (!m.up) {
            start(m);
          } else if (arg & 0x20) {
            (void)m.node->propose_conf_change({ConfChangeType::kAddVoter, 4, ""});
          } else {
            m.node->campaign();
          }
          break;
        case 9:
          if (m.up && m.applied > m.storage->snapshot()->metadata.index &&
              m.applied <= *m.storage->last_index()) {
            (void)m.storage->create_snapshot(m.applied, m.conf, Encode(m));
            (void)m.storage->compact(m.applied);
          }
          break;
      }
      process();
      check();
      if (inv_.failed()) {
        std::fprintf(stderr, "invariant violated: %s\n", inv_.failure().c_str());
        std::abort();
      }
    }
  }

 private:
  void start(Member& m) {
    auto snap = m.storage->snapshot();
    Decode(snap->data, &m);
    m.applied = snap->metadata.index;
    m.conf = snap->metadata.conf_state;
    m.random = std::make_unique<SplitMix64>(m.id);
    Config c;
    c.id = m.id;
    c.election_tick = 4;
    c.heartbeat_tick = 1;
    c.storage = m.storage.get();
    c.random = m.random.get();
    c.applied = snap->metadata.index;
    c.max_size_per_msg = 64;
    c.max_inflight_msgs = 2;
    c.pre_vote = (m.id % 2) == 1;  // mixed, to exercise both paths
    c.check_quorum = true;
    auto n = RawNode::Create(c);
    if (!n.ok()) std::abort();
    m.node = std::move(*n);
    m.up = true;
  }

  void deliver(uint8_t arg, bool keep) {
    if (net_.empty()) return;
    const size_t i = arg % net_.size();
    const std::string bytes = net_[i];
    if (!keep) net_.erase(net_.begin() + i);
    auto msg = DecodeMessage(bytes);
    if (!msg.ok()) std::abort();
    auto it = members_.find(msg->to);
    if (it == members_.end() || !it->second->up) return;
    (void)it->second->node->step(*msg);
  }

  void process() {
    for (int round = 0; round < 50; ++round) {
      bool any = false;
      for (auto& [id, m] : members_) {
        if (!m->up || !m->node->has_ready()) continue;
        any = true;
        handle(*m);
      }
      if (!any) return;
    }
  }

  void handle(Member& m) {
    Ready rd = m.node->ready();
    if (!rd.snapshot.empty()) {
      const auto& md = rd.snapshot.metadata;
      if (!m.storage->apply_snapshot(rd.snapshot).ok()) inv_.fail("apply_snapshot");
      const uint64_t* c = inv_.chain_of(md.index, md.term);
      if (c == nullptr) {
        inv_.fail("snapshot of an unknown entry");
        return;
      }
      m.chain.clear();
      m.chain[md.index] = *c;
    }
    if (!rd.entries.empty()) {
      const uint64_t first = rd.entries.front().index;
      m.chain.erase(m.chain.lower_bound(first), m.chain.end());
      auto prev = m.chain.find(first - 1);
      if (prev == m.chain.end()) {
        inv_.fail("append without predecessor");
        return;
      }
      uint64_t chain = prev->second;
      for (const Entry& e : rd.entries) {
        chain = Fnv1a(e.data, (chain ^ e.term) * 1099511628211ULL + e.index);
        m.chain[e.index] = chain;
        inv_.record_chain(m.id, e.index, e.term, chain);
      }
      if (!m.storage->append(rd.entries).ok()) inv_.fail("append");
    }
    if (rd.hard_state) {
      m.storage->set_hard_state(*rd.hard_state);
      const Raft& r = m.node->raft();
      inv_.observe_commit(m.id, rd.hard_state->commit,
                          r.log().zero_term_on_err(rd.hard_state->commit),
                          r.role() == Role::kLeader ? r.term() : 0);
    }
    for (const Message& msg : rd.messages) net_.push_back(EncodeMessage(msg));
    if (net_.size() > 256) net_.erase(net_.begin(), net_.begin() + 64);  // bounded queue
    if (!rd.snapshot.empty()) {
      Decode(rd.snapshot.data, &m);
      m.applied = rd.snapshot.metadata.index;
      m.conf = rd.snapshot.metadata.conf_state;
      inv_.observe_snapshot_state(m.id, m.applied, StateHash(m));
    }
    for (const Entry& e : rd.committed_entries) {
      if (e.index != m.applied + 1) {
        inv_.fail("apply out of order");
        return;
      }
      if (e.type == EntryType::kConfChange) {
        auto cc = DecodeConfChange(e.data);
        if (!cc.ok()) std::abort();
        if (auto cs = m.node->apply_conf_change(*cc); cs.ok()) m.conf = *cs;
      } else {
        const size_t eq = e.data.find('=');
        if (eq != std::string::npos) m.kv[e.data.substr(0, eq)] = e.data.substr(eq + 1);
      }
      m.applied = e.index;
      inv_.observe_apply(m.id, e, StateHash(m));
    }
    for (const ReadState& rs : rd.read_states) inv_.read_answered(m.id, rs);
    m.node->advance();
  }

  void check() {
    for (auto& [id, m] : members_) {
      if (!m->up) continue;
      const Raft& r = m->node->raft();
      if (r.role() != Role::kLeader) continue;
      inv_.observe_leader(id, r.term());
      inv_.check_leader_completeness(id, r.term(), [&](uint64_t i) {
        if (i + 1 < r.log().first_index()) return UINT64_MAX;
        return r.log().zero_term_on_err(i);
      });
    }
  }

  InvariantChecker inv_;
  std::map<NodeId, std::unique_ptr<Member>> members_;
  std::vector<std::string> net_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fuzz f;
  Input in(data, size);
  f.run(in);
  return 0;
}
