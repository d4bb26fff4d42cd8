#include "cluster_sim.h"

#include <cstdio>
#include <optional>
#include <sstream>
#include <utility>

namespace keel::raft::sim {

namespace {

// The replicated state machine: a small key-value map. Entries are "key=value".
struct App {
  std::map<std::string, std::string> kv;
  uint64_t applied = 0;

  uint64_t hash() const {
    uint64_t h = Fnv1a("app");
    for (const auto& [k, v] : kv) h = Fnv1a(v, Fnv1a(k, h) * 31);
    return h;
  }
  std::string encode() const {
    std::string out = std::to_string(applied) + "\n";
    for (const auto& [k, v] : kv) out += k + "=" + v + "\n";
    return out;
  }
  static bool decode(const std::string& s, App* app) {
    app->kv.clear();
    app->applied = 0;
    if (s.empty()) return true;
    size_t pos = s.find('\n');
    if (pos == std::string::npos) return false;
    app->applied = std::stoull(s.substr(0, pos));
    ++pos;
    while (pos < s.size()) {
      size_t nl = s.find('\n', pos);
      size_t eq = s.find('=', pos);
      if (nl == std::string::npos || eq == std::string::npos || eq > nl) return false;
      app->kv[s.substr(pos, eq - pos)] = s.substr(eq + 1, nl - eq - 1);
      pos = nl + 1;
    }
    return true;
  }
  void apply(const std::string& data) {
    size_t eq = data.find('=');
    if (eq != std::string::npos) kv[data.substr(0, eq)] = data.substr(eq + 1);
  }
};

struct Member {
  NodeId id = kNone;
  bool up = false;
  // Durable: survives a crash.
  std::unique_ptr<MemoryStorage> storage;
  std::map<uint64_t, uint64_t> chain;  // index -> log-matching chain of the persisted log
  uint64_t restarts = 0;
  // Volatile.
  std::unique_ptr<SplitMix64> random;
  std::unique_ptr<RawNode> node;
  App app;
  ConfState conf;
  std::vector<ReadState> waiting_reads;
  // A Ready whose messages went out early and whose write is still "in progress": the member
  // keeps stepping messages until the write completes (finish_ready) or it crashes.
  std::optional<Ready> pending;
};

struct Packet {
  NodeId from = kNone;
  NodeId to = kNone;
  MessageType type = MessageType::kApp;
  std::string bytes;
};

class Simulator {
 public:
  explicit Simulator(const SimOptions& o) : opt_(o), rng_(o.seed * 0x9e3779b97f4a7c15ULL + 1) {}

  SimResult run();

 private:
  uint64_t rand(uint64_t n) { return rng_.uniform(n); }
  bool chance(uint64_t pct) { return rand(100) < pct; }
  void trace(const std::string& s) {
    if (opt_.trace)
      std::fprintf(stderr, "[t=%llu] %s\n", static_cast<unsigned long long>(now_), s.c_str());
  }

  Member& add_member(NodeId id, const ConfState* bootstrap);
  void start(Member& m);
  void crash(Member& m);
  void handle_ready(Member& m);
  void finish_ready(Member& m, Ready rd);
  void finish_pending(bool all);
  void process_all();
  void send(const Message& msg);
  void deliver_due();
  void deliver(const Packet& p);
  bool partitioned(NodeId a, NodeId b) const {
    auto ia = side_.find(a), ib = side_.find(b);
    const int sa = ia == side_.end() ? 0 : ia->second;
    const int sb = ib == side_.end() ? 0 : ib->second;
    return sa != sb;
  }
  void check();
  Member* leader();
  std::vector<Member*> up_members();

  void act_propose();
  void act_read();
  void act_crash_or_restart();
  void act_partition();
  void act_transfer();
  void act_conf_change();
  void act_compact();
  bool liveness();

  SimOptions opt_;
  SplitMix64 rng_;
  InvariantChecker inv_;
  std::map<NodeId, std::unique_ptr<Member>> members_;
  std::map<std::pair<uint64_t, uint64_t>, Packet> net_;  // (deliver at, tiebreak) -> packet
  std::map<NodeId, int> side_;
  uint64_t now_ = 0;
  uint64_t drop_pct_ = 5;
  uint64_t dup_pct_ = 2;
  uint64_t max_delay_ = 3;
  bool pre_vote_ = true;
  bool check_quorum_ = true;
  bool chaos_ = true;  // false in the liveness phase: no more crashes
  NodeId next_id_ = 1;
  uint64_t writes_ = 0;
  uint64_t reads_ = 0;
  std::set<std::string> answered_;  // reads answered (state applied up to their index)
  std::string liveness_failure_;
  SimResult result_;
};

Member& Simulator::add_member(NodeId id, const ConfState* bootstrap) {
  auto m = std::make_unique<Member>();
  m->id = id;
  m->storage = std::make_unique<MemoryStorage>();
  if (bootstrap) {
    App empty;
    empty.applied = 1;
    (void)m->storage->Bootstrap(*bootstrap, empty.encode());
    m->chain[1] = InvariantChecker::BootstrapChain();
    inv_.record_chain(id, 1, 1, InvariantChecker::BootstrapChain());
  }
  Member& ref = *m;
  members_[id] = std::move(m);
  start(ref);
  return ref;
}

void Simulator::start(Member& m) {
  auto snap = m.storage->snapshot();
  App::decode(snap->data, &m.app);
  m.app.applied = snap->metadata.index;
  m.conf = snap->metadata.conf_state;
  m.waiting_reads.clear();
  m.random = std::make_unique<SplitMix64>(opt_.seed * 1000003 + m.id * 7919 + m.restarts);
  Config c;
  c.id = m.id;
  c.election_tick = 10;
  c.heartbeat_tick = 1;
  c.storage = m.storage.get();
  c.random = m.random.get();
  c.max_size_per_msg = 256;  // small, so appends split and the cap is exercised
  c.max_inflight_msgs = 4;
  c.max_committed_size_per_ready = 1024;
  c.max_uncommitted_entries_size = 1500;
  c.applied = snap->metadata.index;
  c.check_quorum = check_quorum_;
  c.pre_vote = pre_vote_;
  auto n = RawNode::Create(c);
  if (!n.ok()) {
    inv_.fail("restart of member " + std::to_string(m.id) + ": " + n.status().to_string());
    return;
  }
  m.node = std::move(*n);
  m.up = true;
}

void Simulator::crash(Member& m) {
  trace("crash " + std::to_string(m.id));
  m.up = false;
  m.pending.reset();
  m.node.reset();
  m.app = App{};
  m.waiting_reads.clear();
  ++m.restarts;
}

std::vector<Member*> Simulator::up_members() {
  std::vector<Member*> out;
  for (auto& [id, m] : members_) {
    if (m->up) out.push_back(m.get());
  }
  return out;
}

Member* Simulator::leader() {
  Member* best = nullptr;
  for (auto& [id, m] : members_) {
    if (!m->up || m->node->raft().role() != Role::kLeader) continue;
    if (best == nullptr || m->node->raft().term() > best->node->raft().term()) best = m.get();
  }
  return best;
}

void Simulator::handle_ready(Member& m) {
  Ready rd = m.node->ready();
  // A leader whose Ready keeps its term and vote may send appends while it persists; sometimes
  // it crashes before the write completes, losing the entries it already sent.
  const bool may_send_early = rd.leader_may_send_early;
  if (may_send_early && chance(30)) {
    std::vector<Message> rest;
    for (const Message& msg : rd.messages) {
      if (IsEarlySendable(msg.type)) {
        send(msg);
      } else {
        rest.push_back(msg);
      }
    }
    rd.messages.swap(rest);
    if (chaos_ && chance(50)) {
      m.pending = std::move(rd);  // the write completes on a later step
      return;
    }
  }
  finish_ready(m, std::move(rd));
}

void Simulator::finish_pending(bool all) {
  for (auto& [id, m] : members_) {
    if (!m->up || !m->pending) continue;
    if (!all && !chance(30)) continue;
    if (chaos_ && chance(3)) {
      trace("crash of leader " + std::to_string(id) + " before persisting what it sent");
      crash(*m);
      continue;
    }
    Ready rd = std::move(*m->pending);
    m->pending.reset();
    finish_ready(*m, std::move(rd));
    if (inv_.failed()) return;
  }
}

void Simulator::finish_ready(Member& m, Ready rd) {
  // 1. Persist: snapshot, entries, hard state.
  if (!rd.snapshot.empty()) {
    const SnapshotMetadata& md = rd.snapshot.metadata;
    if (!m.storage->apply_snapshot(rd.snapshot).ok()) {
      inv_.fail("apply_snapshot refused at member " + std::to_string(m.id));
      return;
    }
    const uint64_t* c = inv_.chain_of(md.index, md.term);
    if (c == nullptr) {
      inv_.fail("snapshot of an entry no member persisted");
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
      inv_.fail("member " + std::to_string(m.id) + " appended " + std::to_string(first) +
                " without its predecessor");
      return;
    }
    uint64_t chain = prev->second;
    for (const Entry& e : rd.entries) {
      chain = Fnv1a(e.data, (chain ^ e.term) * 1099511628211ULL + e.index);
      m.chain[e.index] = chain;
      inv_.record_chain(m.id, e.index, e.term, chain);
    }
    if (!m.storage->append(rd.entries).ok()) {
      inv_.fail("append refused at member " + std::to_string(m.id));
      return;
    }
  }
  if (rd.hard_state) {
    // A member never takes back a committed entry: its commit index must stay in its log.
    m.storage->set_hard_state(*rd.hard_state);
    const Raft& r = m.node->raft();
    const uint64_t c = rd.hard_state->commit;
    inv_.observe_commit(m.id, c, r.log().zero_term_on_err(c),
                        r.role() == Role::kLeader ? r.term() : 0);
  }
  // 2. Send.
  for (const Message& msg : rd.messages) send(msg);
  // 3. Apply.
  if (!rd.snapshot.empty()) {
    App::decode(rd.snapshot.data, &m.app);
    m.app.applied = rd.snapshot.metadata.index;
    m.conf = rd.snapshot.metadata.conf_state;
    inv_.observe_snapshot_state(m.id, m.app.applied, m.app.hash());
  }
  for (const Entry& e : rd.committed_entries) {
    if (e.index != m.app.applied + 1) {
      inv_.fail("member " + std::to_string(m.id) + " asked to apply " + std::to_string(e.index) +
                " after " + std::to_string(m.app.applied));
      return;
    }
    if (e.type == EntryType::kConfChange) {
      auto cc = DecodeConfChange(e.data);
      if (!cc.ok()) {
        inv_.fail("undecodable conf change");
        return;
      }
      auto cs = m.node->apply_conf_change(*cc);
      if (cs.ok()) m.conf = *cs;
    } else {
      m.app.apply(e.data);
    }
    m.app.applied = e.index;
    inv_.observe_apply(m.id, e, m.app.hash());
  }
  // 4. Reads.
  for (const ReadState& rs : rd.read_states) {
    inv_.read_answered(m.id, rs);
    m.waiting_reads.push_back(rs);
  }
  std::vector<ReadState> still;
  for (const ReadState& rs : m.waiting_reads) {
    if (m.app.applied >= rs.index) {
      ++result_.reads_answered;
      answered_.insert(rs.request_ctx);
    } else {
      still.push_back(rs);
    }
  }
  m.waiting_reads.swap(still);
  // 5. Advance.
  m.node->advance();
}

void Simulator::process_all() {
  for (int round = 0; round < 100; ++round) {
    bool any = false;
    for (auto& [id, m] : members_) {
      if (m->up && !m->pending && m->node->has_ready()) {
        handle_ready(*m);
        any = true;
        if (inv_.failed()) return;
      }
    }
    if (!any) return;
  }
}

void Simulator::send(const Message& msg) {
  if (msg.type == MessageType::kSnap) ++result_.snapshots_sent;
  if (chance(drop_pct_)) {
    if (msg.type == MessageType::kSnap) {
      Member& from = *members_.at(msg.from);
      if (from.up) from.node->report_snapshot(msg.to, SnapshotStatus::kFailure);
    }
    return;
  }
  Packet p{msg.from, msg.to, msg.type, EncodeMessage(msg)};
  const int copies = chance(dup_pct_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    net_.emplace(std::make_pair(now_ + rand(max_delay_ + 1), rng_.next()), p);
  }
}

void Simulator::deliver(const Packet& p) {
  auto m = DecodeMessage(p.bytes);
  if (!m.ok()) {
    inv_.fail("a message did not decode: " + m.status().to_string());
    return;
  }
  if (EncodeMessage(*m) != p.bytes) {
    inv_.fail("codec is not canonical for " + DescribeMessage(*m));
    return;
  }
  auto from_it = members_.find(p.from);
  Member* from = from_it == members_.end() ? nullptr : from_it->second.get();
  auto to_it = members_.find(p.to);
  const bool lost = to_it == members_.end() || !to_it->second->up || partitioned(p.from, p.to);
  if (lost) {
    if (from != nullptr && from->up) {
      if (p.type == MessageType::kSnap) from->node->report_snapshot(p.to, SnapshotStatus::kFailure);
      if (p.type == MessageType::kApp) from->node->report_unreachable(p.to);
    }
    return;
  }
  if (opt_.trace) trace("deliver " + DescribeMessage(*m));
  (void)to_it->second->node->step(*m);
  if (p.type == MessageType::kSnap && from != nullptr && from->up) {
    from->node->report_snapshot(p.to, SnapshotStatus::kFinish);
  }
}

void Simulator::deliver_due() {
  while (!net_.empty() && net_.begin()->first.first <= now_) {
    Packet p = std::move(net_.begin()->second);
    net_.erase(net_.begin());
    deliver(p);
    if (inv_.failed()) return;
  }
}

void Simulator::check() {
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

void Simulator::act_propose() {
  auto ups = up_members();
  if (ups.empty()) return;
  Member* m = ups[rand(ups.size())];
  std::string data = "k" + std::to_string(rand(5)) + "=v" + std::to_string(++writes_);
  // Sometimes a larger value, to exercise the byte caps.
  if (chance(10)) data += std::string(300, 'x');
  (void)m->node->propose(data);
}

void Simulator::act_read() {
  auto ups = up_members();
  if (ups.empty()) return;
  Member* m = ups[rand(ups.size())];
  const std::string ctx = "read" + std::to_string(++reads_);
  inv_.read_issued(ctx);
  (void)m->node->read_index(ctx);
}

void Simulator::act_crash_or_restart() {
  std::vector<Member*> down;
  for (auto& [id, m] : members_) {
    if (!m->up) down.push_back(m.get());
  }
  if (!down.empty() && (chance(50) || down.size() * 2 >= members_.size())) {
    Member* m = down[rand(down.size())];
    trace("restart " + std::to_string(m->id));
    start(*m);
    return;
  }
  auto ups = up_members();
  if (ups.empty()) return;
  crash(*ups[rand(ups.size())]);
}

void Simulator::act_partition() {
  if (!side_.empty() && chance(60)) {
    trace("heal");
    side_.clear();
    return;
  }
  side_.clear();
  std::string desc = "partition:";
  for (auto& [id, m] : members_) {
    side_[id] = static_cast<int>(rand(2));
    desc += " " + std::to_string(id) + "/" + std::to_string(side_[id]);
  }
  trace(desc);
}

void Simulator::act_transfer() {
  Member* l = leader();
  if (l == nullptr) return;
  const auto& voters = l->node->raft().tracker().config().voters;
  std::vector<NodeId> v(voters.begin(), voters.end());
  NodeId target = v[rand(v.size())];
  trace("transfer " + std::to_string(l->id) + " -> " + std::to_string(target));
  l->node->transfer_leader(target);
}

void Simulator::act_conf_change() {
  Member* l = leader();
  if (l == nullptr) return;
  const TrackerConfig& cfg = l->node->raft().tracker().config();
  ConfChange cc;
  const uint64_t r = rand(3);
  if (r == 0 && members_.size() < 7) {
    cc.type = ConfChangeType::kAddLearner;
    cc.node_id = next_id_;
  } else if (r == 1 && !cfg.learners.empty()) {
    std::vector<NodeId> ls(cfg.learners.begin(), cfg.learners.end());
    cc.type = ConfChangeType::kAddVoter;
    cc.node_id = ls[rand(ls.size())];
  } else if (r == 2) {
    std::vector<NodeId> cand(cfg.learners.begin(), cfg.learners.end());
    if (cfg.voters.size() > 3) cand.insert(cand.end(), cfg.voters.begin(), cfg.voters.end());
    if (cand.empty()) return;
    cc.type = ConfChangeType::kRemoveNode;
    cc.node_id = cand[rand(cand.size())];
  } else {
    return;
  }
  Status s = l->node->propose_conf_change(cc);
  trace("conf change type " + std::to_string(static_cast<int>(cc.type)) + " node " +
        std::to_string(cc.node_id) + ": " + s.to_string());
  if (s.ok() && cc.type == ConfChangeType::kAddLearner) {
    ++next_id_;
    add_member(cc.node_id, nullptr);
  }
}

void Simulator::act_compact() {
  auto ups = up_members();
  if (ups.empty()) return;
  Member* m = ups[rand(ups.size())];
  const uint64_t i = m->app.applied;
  auto snap = m->storage->snapshot();
  if (i <= snap->metadata.index) return;
  auto last = m->storage->last_index();
  if (i > *last) return;
  if (!m->storage->create_snapshot(i, m->conf, m->app.encode()).ok()) {
    inv_.fail("create_snapshot failed");
    return;
  }
  const uint64_t first = *m->storage->first_index();
  uint64_t ci = i > 3 ? i - rand(3) : i;
  if (ci < first) ci = first;
  trace("compact " + std::to_string(m->id) + " snapshot " + std::to_string(i) + " compact " +
        std::to_string(ci));
  (void)m->storage->compact(ci);
}

bool Simulator::liveness() {
  chaos_ = false;
  finish_pending(true);
  side_.clear();
  drop_pct_ = 0;
  dup_pct_ = 0;
  max_delay_ = 1;
  for (auto& [id, m] : members_) {
    if (!m->up) start(*m);
  }
  // First a write must commit, then a linearizable read issued after it must be answered.
  const std::string token = "live=" + std::to_string(opt_.seed);
  bool written = false;
  std::string read_ctx;
  for (int t = 0; t < opt_.liveness_ticks; ++t) {
    ++now_;
    for (Member* m : up_members()) m->node->tick();
    finish_pending(true);
    process_all();
    deliver_due();
    process_all();
    check();
    if (inv_.failed()) return true;  // reported as a safety failure
    if (!written) {
      if (t % 20 == 0) {
        if (Member* l = leader()) (void)l->node->propose(token);
      }
      for (auto& [id, m] : members_) {
        auto it = m->app.kv.find("live");
        if (it != m->app.kv.end() && it->second == std::to_string(opt_.seed)) written = true;
      }
      continue;
    }
    if (!read_ctx.empty() && answered_.count(read_ctx)) return true;
    if (read_ctx.empty() || t % 20 == 0) {
      // Ask a member of the current configuration (a removed one has nobody to ask).
      Member* l = leader();
      if (l == nullptr) continue;
      std::vector<NodeId> cand;
      for (const auto& [pid, pr] : l->node->raft().tracker().progress()) cand.push_back(pid);
      Member& m = *members_.at(cand[rand(cand.size())]);
      read_ctx = "live-read" + std::to_string(++reads_);
      inv_.read_issued(read_ctx);
      (void)m.node->read_index(read_ctx);
    }
  }
  if (!written)
    liveness_failure_ = "no proposal committed";
  else
    liveness_failure_ = "no read answered";
  return false;
}

SimResult Simulator::run() {
  const size_t n = 3 + rand(5);
  pre_vote_ = rand(4) != 0;
  check_quorum_ = rand(4) != 0;
  ConfState cs;
  for (NodeId id = 1; id <= n; ++id) cs.voters.push_back(id);
  next_id_ = n + 1;
  for (NodeId id = 1; id <= n; ++id) add_member(id, &cs);
  trace("start: " + std::to_string(n) + " members, pre_vote=" + std::to_string(pre_vote_) +
        " check_quorum=" + std::to_string(check_quorum_));

  for (int step = 0; step < opt_.steps; ++step) {
    result_.steps = step + 1;
    const uint64_t r = rand(1000);
    if (r < 350) {
      ++now_;
      for (Member* m : up_members()) m->node->tick();
    } else if (r < 700) {
      deliver_due();
    } else if (r < 820) {
      act_propose();
    } else if (r < 880) {
      act_read();
    } else if (r < 895) {
      act_crash_or_restart();
    } else if (r < 910) {
      act_partition();
    } else if (r < 920) {
      act_transfer();
    } else if (r < 940) {
      act_conf_change();
    } else if (r < 960) {
      act_compact();
    } else {
      ++now_;
      for (Member* m : up_members()) m->node->tick();
      deliver_due();
    }
    if (!inv_.failed()) finish_pending(false);
    if (!inv_.failed()) process_all();
    if (!inv_.failed()) check();
    if (inv_.failed()) {
      result_.ok = false;
      result_.failure = "step " + std::to_string(step) + ": " + inv_.failure();
      return result_;
    }
  }
  const bool live = liveness();
  result_.commits = inv_.max_commit_index();
  if (inv_.failed()) {
    result_.ok = false;
    result_.failure = "liveness phase: " + inv_.failure();
  } else if (!live) {
    result_.ok = false;
    std::ostringstream os;
    os << "liveness: " << liveness_failure_ << " within " << opt_.liveness_ticks
       << " ticks after the network healed;";
    for (auto& [id, m] : members_) {
      if (!m->up) {
        os << " [" << id << " down]";
        continue;
      }
      const Raft& r = m->node->raft();
      os << " [" << id << " " << RoleName(r.role()) << " term " << r.term() << " lead " << r.lead()
         << " commit " << r.log().committed() << " applied " << r.log().applied() << " last "
         << r.log().last_index() << " voters";
      for (NodeId v : r.tracker().config().voters) os << " " << v;
      os << " learners";
      for (NodeId v : r.tracker().config().learners) os << " " << v;
      if (r.role() == Role::kLeader) {
        for (const auto& [pid, pr] : r.tracker().progress())
          os << " {" << pid << ": " << pr.describe() << "}";
      }
      os << "]";
    }
    result_.failure = os.str();
  }
  return result_;
}

}  // namespace

SimResult RunSimulation(const SimOptions& options) {
  Simulator s(options);
  return s.run();
}

}  // namespace keel::raft::sim
