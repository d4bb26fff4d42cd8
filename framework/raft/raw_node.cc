#include "raft/raw_node.h"

#include "raft/codec.h"
#include "raft/errors.h"
#include "raft/fatal.h"

namespace keel::raft {

Result<std::unique_ptr<RawNode>> RawNode::Create(const Config& config) {
  auto r = Raft::Create(config);
  if (!r.ok()) return r.status();
  std::unique_ptr<RawNode> n(new RawNode(std::move(*r)));
  n->max_committed_size_per_ready_ = config.max_committed_size_per_ready;
  return n;
}

RawNode::RawNode(std::unique_ptr<Raft> raft)
    : raft_(std::move(raft)),
      max_committed_size_per_ready_(UINT64_MAX),
      prev_soft_(raft_->soft_state()),
      prev_hard_(raft_->hard_state()) {}

void RawNode::campaign() {
  Message m;
  m.type = MessageType::kHup;
  (void)raft_->step(std::move(m));
}

Status RawNode::propose(std::string data) {
  Message m;
  m.type = MessageType::kProp;
  m.from = raft_->id();
  m.entries.push_back(Entry{0, 0, EntryType::kNormal, std::move(data)});
  return raft_->step(std::move(m));
}

Status RawNode::propose_conf_change(const ConfChange& cc) {
  Message m;
  m.type = MessageType::kProp;
  m.from = raft_->id();
  m.entries.push_back(Entry{0, 0, EntryType::kConfChange, EncodeConfChange(cc)});
  return raft_->step(std::move(m));
}

Status RawNode::step(const Message& m) {
  if (IsLocalMessage(m.type)) return ErrStepLocalMsg();
  // Only forwarded requests travel without a term; anything else without one is malformed and
  // would be taken for a local message.
  if (m.term == 0 && m.type != MessageType::kProp && m.type != MessageType::kReadIndex &&
      m.type != MessageType::kTransferLeader) {
    return Status::InvalidArgument("raft: message without a term");
  }
  if (IsResponseMessage(m.type) && m.type != MessageType::kReadIndexResp &&
      !raft_->tracker().is_member(m.from) && raft_->role() == Role::kLeader) {
    return ErrStepPeerNotFound();
  }
  return raft_->step(m);
}

Status RawNode::read_index(std::string ctx) {
  Message m;
  m.type = MessageType::kReadIndex;
  m.context = std::move(ctx);
  return raft_->step(std::move(m));
}

void RawNode::transfer_leader(NodeId transferee) {
  Message m;
  m.type = MessageType::kTransferLeader;
  m.from = transferee;
  (void)raft_->step(std::move(m));
}

void RawNode::report_unreachable(NodeId id) {
  Message m;
  m.type = MessageType::kUnreachable;
  m.from = id;
  (void)raft_->step(std::move(m));
}

void RawNode::report_snapshot(NodeId id, SnapshotStatus status) {
  Message m;
  m.type = MessageType::kSnapStatus;
  m.from = id;
  m.reject = status == SnapshotStatus::kFailure;
  (void)raft_->step(std::move(m));
}

bool RawNode::has_ready() const {
  const Raft& r = *raft_;
  if (r.soft_state() != prev_soft_) return true;
  HardState hs = r.hard_state();
  if (!hs.empty() && hs != prev_hard_) return true;
  if (r.log().has_pending_snapshot()) return true;
  if (!r.log().unstable_entries().empty()) return true;
  if (r.has_messages() || !r.read_states().empty()) return true;
  return r.log().has_next_committed_entries();
}

Ready RawNode::ready() {
  if (ready_outstanding_) Fatal("RawNode::ready() called before advance()");
  Raft& r = *raft_;
  Ready rd;
  rd.entries = r.log().unstable_entries();
  rd.committed_entries = r.log().next_committed_entries(max_committed_size_per_ready_);
  rd.messages = r.take_messages();
  rd.read_states = r.take_read_states();
  const SoftState ss = r.soft_state();
  if (ss != prev_soft_) {
    rd.soft_state = ss;
    prev_soft_ = ss;
  }
  const HardState hs = r.hard_state();
  rd.leader_may_send_early =
      r.role() == Role::kLeader && hs.term == prev_hard_.term && hs.vote == prev_hard_.vote;
  if (!hs.empty() && hs != prev_hard_) {
    rd.hard_state = hs;
    // Term and vote must be durable before messages that depend on them; the commit index
    // alone can be recomputed after a crash, so it needs no sync of its own.
    rd.must_sync = hs.term != prev_hard_.term || hs.vote != prev_hard_.vote;
    prev_hard_ = hs;
  }
  if (r.log().has_pending_snapshot()) {
    auto snap = r.log().snapshot();
    if (!snap.ok()) Fatal("pending snapshot unreadable");
    rd.snapshot = std::move(*snap);
  }
  if (!rd.entries.empty()) rd.must_sync = true;

  ready_outstanding_ = true;
  ready_last_entry_.reset();
  if (!rd.entries.empty()) {
    ready_last_entry_ = std::make_pair(rd.entries.back().index, rd.entries.back().term);
  }
  ready_snapshot_index_ = rd.snapshot.metadata.index;
  ready_last_committed_ = rd.committed_entries.empty() ? 0 : rd.committed_entries.back().index;
  ready_committed_bytes_ = 0;
  for (const Entry& e : rd.committed_entries) ready_committed_bytes_ += e.data.size();
  return rd;
}

void RawNode::advance() {
  if (!ready_outstanding_) return;
  ready_outstanding_ = false;
  RaftLog& log = raft_->log();
  if (ready_snapshot_index_ != 0) {
    log.stable_snap_to(ready_snapshot_index_);
    log.applied_snapshot(ready_snapshot_index_);
  }
  if (ready_last_committed_ != 0) {
    log.applied_to(ready_last_committed_);
    raft_->reduce_uncommitted_size(ready_committed_bytes_);
  }
  if (ready_last_entry_) {
    log.stable_to(ready_last_entry_->first, ready_last_entry_->second);
    raft_->on_persisted(ready_last_entry_->first, ready_last_entry_->second);
  }
}

RaftStatus RawNode::status() const {
  RaftStatus s;
  s.id = raft_->id();
  s.hard_state = raft_->hard_state();
  s.soft_state = raft_->soft_state();
  s.applied = raft_->log().applied();
  s.lead_transferee = raft_->lead_transferee();
  s.conf_state = raft_->tracker().config().to_conf_state();
  if (raft_->role() == Role::kLeader) s.progress = raft_->tracker().progress();
  return s;
}

}  // namespace keel::raft
