#include "raft/raft_core.h"

#include <algorithm>

#include "raft/errors.h"
#include "raft/fatal.h"

namespace keel::raft {

namespace {

MessageType VoteRespType(MessageType t) {
  return t == MessageType::kPreVote ? MessageType::kPreVoteResp : MessageType::kVoteResp;
}

}  // namespace

Status Config::validate() const {
  if (id == kNone) return Status::InvalidArgument("raft: cannot use none as id");
  if (heartbeat_tick <= 0) return Status::InvalidArgument("raft: heartbeat tick must be > 0");
  if (election_tick <= heartbeat_tick) {
    return Status::InvalidArgument("raft: election tick must be greater than heartbeat tick");
  }
  if (storage == nullptr) return Status::InvalidArgument("raft: storage cannot be null");
  if (random == nullptr) return Status::InvalidArgument("raft: random source cannot be null");
  if (max_inflight_msgs == 0) {
    return Status::InvalidArgument("raft: max inflight messages must be > 0");
  }
  return Status::OK();
}

Result<std::unique_ptr<Raft>> Raft::Create(const Config& c) {
  KEEL_RETURN_IF_ERROR(c.validate());
  auto init = c.storage->initial_state();
  if (!init.ok()) return init.status().with_context("raft: reading the initial state");
  std::unique_ptr<Raft> r(new Raft(c));
  r->apply_conf_state(init->conf_state);
  const HardState& hs = init->hard_state;
  if (!hs.empty()) {
    // A commit index below the snapshot's is stale (the snapshot holds only committed state, so
    // it is kept); one past the last entry means entries the member promised are missing.
    if (hs.commit > r->log_.last_index()) {
      return Status::Corruption("raft: hard state commit is past the last log entry");
    }
    r->log_.commit_to(hs.commit);
    r->term_ = hs.term;
    r->vote_ = hs.vote;
  }
  if (c.applied > 0) {
    if (c.applied > r->log_.committed()) {
      return Status::InvalidArgument("raft: applied index is past the commit index");
    }
    r->log_.applied_to(c.applied);
  }
  r->become_follower(r->term_, kNone);
  return r;
}

Raft::Raft(const Config& c)
    : id_(c.id),
      log_(c.storage),
      tracker_(c.max_inflight_msgs, c.max_inflight_bytes),
      election_timeout_(c.election_tick),
      heartbeat_timeout_(c.heartbeat_tick),
      check_quorum_(c.check_quorum),
      pre_vote_(c.pre_vote),
      disable_proposal_forwarding_(c.disable_proposal_forwarding),
      max_msg_size_(c.max_size_per_msg),
      max_uncommitted_size_(c.max_uncommitted_entries_size),
      random_(c.random) {}

bool Raft::promotable() const { return tracker_.is_voter(id_) && !log_.has_pending_snapshot(); }

// ---- output ----

void Raft::send(Message m) {
  if (m.from == kNone) m.from = id_;
  switch (m.type) {
    case MessageType::kVote:
    case MessageType::kVoteResp:
    case MessageType::kPreVote:
    case MessageType::kPreVoteResp:
      // Vote messages carry the term they are about, set by the caller (a pre-vote is for a
      // term not yet entered).
      if (m.term == 0) Fatal("vote message without a term");
      break;
    case MessageType::kProp:
    case MessageType::kReadIndex:
    case MessageType::kTransferLeader:
      // Forwarded requests are local in spirit: they carry no term so no term logic applies.
      m.term = 0;
      break;
    default:
      m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

std::vector<Message> Raft::take_messages() {
  if (append_due_) {
    append_due_ = false;
    if (role_ == Role::kLeader) bcast_append();
  }
  if (read_heartbeat_due_) {
    read_heartbeat_due_ = false;
    if (role_ == Role::kLeader && read_only_.pending() > 0) {
      bcast_heartbeat(read_only_.last_pending_request_ctx());
    }
  }
  std::vector<Message> out;
  out.swap(msgs_);
  return out;
}

std::vector<ReadState> Raft::take_read_states() {
  std::vector<ReadState> out;
  out.swap(read_states_);
  return out;
}

// ---- roles ----

void Raft::reset(uint64_t term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNone;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  reset_randomized_election_timeout();
  abort_leader_transfer();
  tracker_.reset_votes();
  tracker_.reset_all(log_.last_index() + 1);
  if (Progress* self = tracker_.get(id_)) self->match = log_.persisted_index();
  pending_conf_index_ = 0;
  read_only_.reset();
  pending_read_index_messages_.clear();
  read_heartbeat_due_ = false;
  append_due_ = false;
}

void Raft::reset_randomized_election_timeout() {
  randomized_election_timeout_ =
      election_timeout_ +
      static_cast<int>(random_->uniform(static_cast<uint64_t>(election_timeout_)));
}

void Raft::become_follower(uint64_t term, NodeId lead) {
  reset(term);
  lead_ = lead;
  role_ = Role::kFollower;
}

void Raft::become_pre_candidate() {
  if (role_ == Role::kLeader) Fatal("invalid transition [leader -> pre-candidate]");
  // A pre-candidate changes neither term nor vote: losing a pre-election costs nothing.
  tracker_.reset_votes();
  lead_ = kNone;
  role_ = Role::kPreCandidate;
}

void Raft::become_candidate() {
  if (role_ == Role::kLeader) Fatal("invalid transition [leader -> candidate]");
  reset(term_ + 1);
  vote_ = id_;
  role_ = Role::kCandidate;
}

void Raft::become_leader() {
  if (role_ == Role::kFollower) Fatal("invalid transition [follower -> leader]");
  reset(term_);
  lead_ = id_;
  role_ = Role::kLeader;
  // Entries of earlier terms do not count: only what this leader appends from now on.
  uncommitted_size_ = 0;
  if (Progress* self = tracker_.get(id_)) {
    self->become_replicate();
    self->recent_active = true;
  }
  // Entries of earlier terms may be uncommitted; none of them counts until an entry of this term
  // commits (§5.4.2), so append one now (§8: also what lets ReadIndex start).
  pending_conf_index_ = log_.last_index();
  append_entries({Entry{}});
}

// ---- time ----

void Raft::tick() {
  if (role_ == Role::kLeader) {
    tick_heartbeat();
  } else {
    tick_election();
  }
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && past_election_timeout()) {
    election_elapsed_ = 0;
    Message m;
    m.type = MessageType::kHup;
    m.from = id_;
    (void)step(std::move(m));
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= election_timeout_) {
    election_elapsed_ = 0;
    if (check_quorum_) {
      Message m;
      m.type = MessageType::kCheckQuorum;
      m.from = id_;
      (void)step(std::move(m));
    }
    // A transfer that did not finish within an election timeout is abandoned (§3.10).
    if (role_ == Role::kLeader && lead_transferee_ != kNone) abort_leader_transfer();
  }
  if (role_ != Role::kLeader) return;
  if (heartbeat_elapsed_ >= heartbeat_timeout_) {
    heartbeat_elapsed_ = 0;
    Message m;
    m.type = MessageType::kBeat;
    m.from = id_;
    (void)step(std::move(m));
  }
}

// ---- elections ----

bool Raft::has_unapplied_conf_changes() const {
  if (log_.applied() >= log_.committed()) return false;
  auto ents = log_.slice(log_.applied() + 1, log_.committed() + 1, UINT64_MAX);
  if (!ents.ok()) return false;
  for (const Entry& e : *ents) {
    if (e.type == EntryType::kConfChange) return true;
  }
  return false;
}

void Raft::hup(CampaignType t) {
  if (role_ == Role::kLeader) return;
  if (!promotable()) return;
  // A committed but unapplied configuration change might remove this member: apply it first.
  if (has_unapplied_conf_changes()) return;
  campaign(t);
}

void Raft::campaign(CampaignType t) {
  if (!promotable()) return;
  uint64_t term;
  MessageType vote_msg;
  if (t == CampaignType::kPreElection) {
    become_pre_candidate();
    vote_msg = MessageType::kPreVote;
    term = term_ + 1;  // the term it would campaign in; not entered yet
  } else {
    become_candidate();
    vote_msg = MessageType::kVote;
    term = term_;
  }
  if (poll(id_, true) == VoteResult::kWon) {
    // A single voter wins at once.
    if (t == CampaignType::kPreElection) {
      campaign(CampaignType::kElection);
    } else {
      become_leader();
    }
    return;
  }
  for (NodeId id : tracker_.config().voters) {
    if (id == id_) continue;
    Message m;
    m.type = vote_msg;
    m.to = id;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    if (t == CampaignType::kTransfer) m.context = kCampaignTransfer;
    send(std::move(m));
  }
}

VoteResult Raft::poll(NodeId id, bool granted) { return tracker_.record_vote(id, granted); }

// ---- step ----

Status Raft::step(Message m) {
  if (m.term == 0) {
    // Local message (or a forwarded request, which carries no term).
  } else if (m.term > term_) {
    if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
      const bool force = m.context == kCampaignTransfer;
      const bool in_lease =
          check_quorum_ && lead_ != kNone && election_elapsed_ < election_timeout_;
      // §4.2.3: a member that heard from a leader within the minimum election timeout does not
      // let a (possibly partitioned, rejoining) candidate depose it.
      if (!force && in_lease) return Status::OK();
    }
    if (m.type == MessageType::kPreVote) {
      // Never change term for a pre-vote.
    } else if (m.type == MessageType::kPreVoteResp && !m.reject) {
      // The term is raised when the pre-election is won.
    } else if (m.type == MessageType::kApp || m.type == MessageType::kHeartbeat ||
               m.type == MessageType::kSnap) {
      become_follower(m.term, m.from);
    } else {
      become_follower(m.term, kNone);
    }
  } else if (m.term < term_) {
    if ((check_quorum_ || pre_vote_) &&
        (m.type == MessageType::kHeartbeat || m.type == MessageType::kApp)) {
      // A leader partitioned away with a stale term would otherwise never learn it was deposed
      // (its followers ignore it; with pre-vote they never raise their term to reach it).
      Message r;
      r.type = MessageType::kAppResp;
      r.to = m.from;
      send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      Message r;
      r.type = MessageType::kPreVoteResp;
      r.to = m.from;
      r.term = term_;
      r.reject = true;
      send(std::move(r));
    }
    return Status::OK();
  }

  switch (m.type) {
    case MessageType::kHup:
      hup(pre_vote_ ? CampaignType::kPreElection : CampaignType::kElection);
      return Status::OK();
    case MessageType::kVote:
    case MessageType::kPreVote: {
      // §5.2/§5.4.1: one vote per term, only for a candidate whose log is at least as up to
      // date. A pre-vote for a later term may be granted regardless of our vote in this one.
      // A learner answers too (as in etcd): only a candidate that already applied the learner's
      // promotion asks it, and then it is a voter. Learners never campaign, and no tally
      // counts a member that is a learner in the tallier's configuration.
      const bool can_vote = vote_ == m.from || (vote_ == kNone && lead_ == kNone) ||
                            (m.type == MessageType::kPreVote && m.term > term_);
      Message r;
      r.type = VoteRespType(m.type);
      r.to = m.from;
      if (can_vote && log_.is_up_to_date(m.index, m.log_term)) {
        r.term = m.term;
        send(std::move(r));
        if (m.type == MessageType::kVote) {
          election_elapsed_ = 0;
          vote_ = m.from;
        }
      } else {
        r.term = term_;
        r.reject = true;
        send(std::move(r));
      }
      return Status::OK();
    }
    default:
      break;
  }
  switch (role_) {
    case Role::kLeader:
      return step_leader(m);
    case Role::kCandidate:
    case Role::kPreCandidate:
      return step_candidate(m);
    case Role::kFollower:
      return step_follower(m);
  }
  return Status::OK();
}

Status Raft::step_leader(Message& m) {
  switch (m.type) {
    case MessageType::kBeat:
      bcast_heartbeat(read_only_.last_pending_request_ctx());
      return Status::OK();
    case MessageType::kCheckQuorum:
      if (!tracker_.quorum_active(id_)) {
        become_follower(term_, kNone);
      }
      // Start the next window: every follower must be heard from again.
      for (auto& [id, pr] : tracker_.progress()) {
        if (id != id_) pr.recent_active = false;
      }
      return Status::OK();
    case MessageType::kProp: {
      if (m.entries.empty()) return Status::InvalidArgument("raft: empty proposal");
      if (tracker_.get(id_) == nullptr) return ErrProposalDropped();  // removed from the group
      if (lead_transferee_ != kNone) return ErrTransferInProgress();
      for (size_t i = 0; i < m.entries.size(); ++i) {
        if (m.entries[i].type != EntryType::kConfChange) continue;
        if (pending_conf_index_ > log_.applied()) return ErrConfChangePending();
      }
      uint64_t bytes = 0;
      for (const Entry& e : m.entries) bytes += e.data.size();
      if (max_uncommitted_size_ != 0 && uncommitted_size_ > 0 &&
          uncommitted_size_ + bytes > max_uncommitted_size_) {
        return ErrProposalDropped();
      }
      uncommitted_size_ += bytes;
      for (size_t i = 0; i < m.entries.size(); ++i) {
        if (m.entries[i].type == EntryType::kConfChange) {
          pending_conf_index_ = log_.last_index() + i + 1;
        }
      }
      append_entries(std::move(m.entries));
      // Sent when the messages are next collected: every proposal made before then travels in
      // the same append to each follower.
      append_due_ = true;
      return Status::OK();
    }
    case MessageType::kReadIndex:
      if (!committed_entry_in_current_term()) {
        // §6.4 step 1: until an entry of its term commits, the leader's commit index may be
        // behind what earlier leaders committed. Answer once it is known.
        pending_read_index_messages_.push_back(std::move(m));
        return Status::OK();
      }
      read_index_on_leader(m);
      return Status::OK();
    default:
      break;
  }

  Progress* pr = tracker_.get(m.from);
  if (pr == nullptr) return Status::OK();  // a member that left; nothing to track
  switch (m.type) {
    case MessageType::kAppResp: {
      pr->recent_active = true;
      if (m.reject) {
        uint64_t next_probe = m.reject_hint;
        if (m.log_term > 0) {
          // Skip every entry of ours whose term cannot match the follower's at the hint.
          next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term).first;
        }
        if (pr->maybe_decr_to(m.index, next_probe)) {
          if (pr->state == ProgressState::kReplicate) pr->become_probe();
          send_append(m.from);
        }
        return Status::OK();
      }
      const bool old_paused = pr->is_paused();
      if (pr->maybe_update(m.index) ||
          (pr->match == m.index && pr->state == ProgressState::kProbe)) {
        if (pr->state == ProgressState::kProbe) {
          pr->become_replicate();
        } else if (pr->state == ProgressState::kSnapshot && pr->match + 1 >= log_.first_index()) {
          // The follower has the snapshot (or caught up another way): back to streaming.
          pr->become_probe();
          pr->become_replicate();
        } else if (pr->state == ProgressState::kReplicate) {
          pr->inflights.free_le(m.index);
        }
        if (maybe_commit()) {
          release_pending_read_index_messages();
          bcast_append();
        } else if (old_paused) {
          send_append(m.from);
        }
        while (maybe_send_append(m.from, false)) {
        }
        pr = tracker_.get(m.from);
        if (pr != nullptr && m.from == lead_transferee_ && pr->match == log_.last_index()) {
          send_timeout_now(m.from);
        }
      }
      return Status::OK();
    }
    case MessageType::kHeartbeatResp: {
      pr->recent_active = true;
      pr->probe_sent = false;
      // Appends may have been lost with the window full; let one more through to find out.
      // If they were, the follower rejects the next one (a gap) and probing starts.
      if (pr->state == ProgressState::kReplicate && pr->inflights.full()) {
        pr->inflights.free_first_one();
      }
      if (pr->match < log_.last_index() || pr->state == ProgressState::kProbe) {
        send_append(m.from);
      }
      if (m.context.empty()) return Status::OK();
      const std::map<NodeId, bool>* acks = read_only_.recv_ack(m.from, m.context);
      if (acks == nullptr) return Status::OK();
      if (MajorityVoteResult(tracker_.config().voters, *acks) != VoteResult::kWon) {
        return Status::OK();
      }
      for (ReadIndexStatus& rs : read_only_.advance(m.context)) respond_to_read(rs.index, rs.req);
      return Status::OK();
    }
    case MessageType::kSnapStatus:
      if (pr->state != ProgressState::kSnapshot) return Status::OK();
      if (m.reject) pr->pending_snapshot = 0;
      pr->become_probe();
      // Wait for the follower's answer (or a heartbeat interval) before probing.
      pr->probe_sent = true;
      return Status::OK();
    case MessageType::kUnreachable:
      // Optimistic streaming to an unreachable member only loses messages: probe instead.
      if (pr->state == ProgressState::kReplicate) pr->become_probe();
      return Status::OK();
    case MessageType::kTransferLeader: {
      if (pr->is_learner) return Status::OK();  // a learner cannot lead
      const NodeId target = m.from;
      if (lead_transferee_ != kNone) {
        if (lead_transferee_ == target) return Status::OK();  // already under way
        abort_leader_transfer();
      }
      if (target == id_) return Status::OK();  // already leader
      // The transfer must finish within an election timeout (§3.10).
      election_elapsed_ = 0;
      lead_transferee_ = target;
      if (pr->match == log_.last_index()) {
        send_timeout_now(target);
      } else {
        send_append(target);  // catch it up first
      }
      return Status::OK();
    }
    default:
      return Status::OK();
  }
}

Status Raft::step_candidate(Message& m) {
  const MessageType my_resp =
      role_ == Role::kPreCandidate ? MessageType::kPreVoteResp : MessageType::kVoteResp;
  switch (m.type) {
    case MessageType::kProp:
      return ErrNoLeader();
    case MessageType::kReadIndex:
      return ErrNoLeader();
    case MessageType::kApp:
      become_follower(m.term, m.from);  // a leader of this term exists (§5.2)
      handle_append_entries(m);
      return Status::OK();
    case MessageType::kHeartbeat:
      become_follower(m.term, m.from);
      handle_heartbeat(m);
      return Status::OK();
    case MessageType::kSnap:
      become_follower(m.term, m.from);
      handle_snapshot(m);
      return Status::OK();
    case MessageType::kTimeoutNow:
      return Status::OK();
    default:
      break;
  }
  if (m.type == my_resp) {
    switch (poll(m.from, !m.reject)) {
      case VoteResult::kWon:
        if (role_ == Role::kPreCandidate) {
          campaign(CampaignType::kElection);
        } else {
          become_leader();
          bcast_append();
        }
        break;
      case VoteResult::kLost:
        // A pre-candidate's or candidate's rejection with a higher term was handled in step().
        become_follower(term_, kNone);
        break;
      case VoteResult::kPending:
        break;
    }
  }
  return Status::OK();
}

Status Raft::step_follower(Message& m) {
  switch (m.type) {
    case MessageType::kProp:
      if (lead_ == kNone) return ErrNoLeader();
      if (disable_proposal_forwarding_) return ErrProposalDropped();
      m.to = lead_;
      send(std::move(m));
      return Status::OK();
    case MessageType::kApp:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_append_entries(m);
      return Status::OK();
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_heartbeat(m);
      return Status::OK();
    case MessageType::kSnap:
      election_elapsed_ = 0;
      lead_ = m.from;
      handle_snapshot(m);
      return Status::OK();
    case MessageType::kTransferLeader:
      if (lead_ == kNone) return ErrNoLeader();
      m.to = lead_;
      send(std::move(m));
      return Status::OK();
    case MessageType::kTimeoutNow:
      // The leader asks us to campaign now, skipping pre-vote: it is stepping aside (§3.10).
      hup(CampaignType::kTransfer);
      return Status::OK();
    case MessageType::kReadIndex:
      if (lead_ == kNone) return ErrNoLeader();
      m.to = lead_;
      send(std::move(m));
      return Status::OK();
    case MessageType::kReadIndexResp:
      read_states_.push_back(ReadState{m.index, m.context});
      return Status::OK();
    default:
      return Status::OK();
  }
}

// ---- follower handlers ----

void Raft::handle_append_entries(const Message& m) {
  Message r;
  r.type = MessageType::kAppResp;
  r.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit index matches the leader's log already (§5.4.3).
    r.index = log_.committed();
    send(std::move(r));
    return;
  }
  if (auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    r.index = *last_new;
    send(std::move(r));
    return;
  }
  // Reject with a hint (§5.3 optimization): the largest index <= m.index whose term is at most
  // m.log_term. The leader skips all of its entries that cannot match.
  const uint64_t hint_index = std::min(m.index, log_.last_index());
  auto [hi, ht] = log_.find_conflict_by_term(hint_index, m.log_term);
  r.index = m.index;
  r.reject = true;
  r.reject_hint = hi;
  r.log_term = ht;
  send(std::move(r));
}

void Raft::handle_heartbeat(const Message& m) {
  log_.commit_to(m.commit);
  Message r;
  r.type = MessageType::kHeartbeatResp;
  r.to = m.from;
  r.context = m.context;
  send(std::move(r));
}

void Raft::handle_snapshot(const Message& m) {
  Message r;
  r.type = MessageType::kAppResp;
  r.to = m.from;
  if (restore(m.snapshot)) {
    r.index = log_.last_index();
  } else {
    r.index = log_.committed();
  }
  send(std::move(r));
}

bool Raft::restore(const Snapshot& snap) {
  const SnapshotMetadata& md = snap.metadata;
  if (md.index <= log_.committed()) return false;
  if (role_ != Role::kFollower) {
    // Only a leader of this term sends snapshots; we cannot be one. Defend anyway.
    become_follower(term_ + 1, kNone);
    return false;
  }
  const bool member = std::find(md.conf_state.voters.begin(), md.conf_state.voters.end(), id_) !=
                          md.conf_state.voters.end() ||
                      std::find(md.conf_state.learners.begin(), md.conf_state.learners.end(),
                                id_) != md.conf_state.learners.end();
  // A snapshot from a configuration we are not part of is refused — unless we have no
  // configuration at all: a member that just joined starts empty and may be sent a snapshot
  // older than its addition (the log after it adds the member).
  const bool fresh = tracker_.config().voters.empty() && tracker_.config().learners.empty();
  if (!member && !fresh) return false;
  if (log_.match_term(md.index, md.term)) {
    // We have the snapshot's last entry: fast-forward the commit index instead.
    log_.commit_to(md.index);
    return false;
  }
  log_.restore(snap);
  tracker_.clear();
  apply_conf_state(md.conf_state);
  return true;
}

// ---- leader machinery ----

void Raft::append_entries(std::vector<Entry> es) {
  uint64_t li = log_.last_index();
  for (size_t i = 0; i < es.size(); ++i) {
    es[i].term = term_;
    es[i].index = li + 1 + i;
  }
  log_.append(es);
  // The leader's own copy counts toward commitment only once persisted (on_persisted).
}

void Raft::on_persisted(uint64_t index, uint64_t term) {
  if (role_ != Role::kLeader) return;
  if (!log_.match_term(index, term)) return;
  Progress* self = tracker_.get(id_);
  if (self == nullptr) return;
  if (self->maybe_update(index) && maybe_commit()) {
    release_pending_read_index_messages();
    bcast_append();
  }
}

bool Raft::maybe_commit() {
  // §5.4.2: only an entry of the current term commits by counting replicas.
  return log_.maybe_commit(tracker_.committed(), term_);
}

bool Raft::committed_entry_in_current_term() const {
  return log_.zero_term_on_err(log_.committed()) == term_;
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  Progress* pr = tracker_.get(to);
  if (pr == nullptr || pr->is_paused()) return false;
  Message m;
  m.to = to;
  const uint64_t prev = pr->next - 1;
  auto prev_term = log_.term(prev);
  Result<std::vector<Entry>> ents = std::vector<Entry>{};
  if (pr->state != ProgressState::kReplicate || !pr->inflights.full()) {
    ents = log_.entries(pr->next, max_msg_size_);
  }
  if (ents.ok() && ents->empty() && !send_if_empty) return false;
  if (!prev_term.ok() || !ents.ok()) {
    // The entries the follower needs are compacted away: send a snapshot (§7).
    if (!pr->recent_active) return false;  // it may be down; do not waste a snapshot
    auto snap = log_.snapshot();
    if (!snap.ok()) {
      if (IsSnapshotTemporarilyUnavailable(snap.status())) return false;
      Fatal("storage: snapshot: " + snap.status().to_string());
    }
    if (snap->empty()) Fatal("need a non-empty snapshot");
    m.type = MessageType::kSnap;
    pr->become_snapshot(snap->metadata.index);
    m.snapshot = std::move(*snap);
    send(std::move(m));
    return true;
  }
  m.type = MessageType::kApp;
  m.index = prev;
  m.log_term = *prev_term;
  m.entries = std::move(*ents);
  m.commit = log_.committed();
  const size_t n = m.entries.size();
  const uint64_t bytes = PayloadSize(m.entries);
  pr->sent_entries(n, bytes, pr->next);
  send(std::move(m));
  return true;
}

void Raft::bcast_append() {
  for (auto& [id, pr] : tracker_.progress()) {
    if (id != id_) send_append(id);
  }
}

void Raft::send_heartbeat(NodeId to, const std::string& ctx) {
  Progress* pr = tracker_.get(to);
  // The follower may not have the leader's committed entries yet: never tell it to commit past
  // what it is known to match (it would commit entries it lacks or has wrong).
  Message m;
  m.type = MessageType::kHeartbeat;
  m.to = to;
  m.commit = std::min(pr->match, log_.committed());
  m.context = ctx;
  send(std::move(m));
}

void Raft::bcast_heartbeat(const std::string& ctx) {
  for (auto& [id, pr] : tracker_.progress()) {
    if (id != id_) send_heartbeat(id, ctx);
  }
}

void Raft::send_timeout_now(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  send(std::move(m));
}

// ---- reads ----

void Raft::read_index_on_leader(const Message& m) {
  const auto& voters = tracker_.config().voters;
  if (voters.size() == 1 && voters.count(id_)) {
    respond_to_read(log_.committed(), m);  // a quorum of one: nothing to confirm
    return;
  }
  // §6.4 steps 2-3: record the commit index, then confirm leadership with a heartbeat round.
  // The round starts when the messages are next collected, so every read that arrives before
  // then shares it.
  read_only_.add_request(log_.committed(), m);
  read_only_.recv_ack(id_, m.context);
  read_heartbeat_due_ = true;
}

void Raft::respond_to_read(uint64_t index, const Message& req) {
  if (req.from == kNone || req.from == id_) {
    read_states_.push_back(ReadState{index, req.context});
    return;
  }
  Message r;
  r.type = MessageType::kReadIndexResp;
  r.to = req.from;
  r.index = index;
  r.context = req.context;
  send(std::move(r));
}

void Raft::release_pending_read_index_messages() {
  if (pending_read_index_messages_.empty() || !committed_entry_in_current_term()) return;
  std::vector<Message> pending;
  pending.swap(pending_read_index_messages_);
  for (const Message& m : pending) read_index_on_leader(m);
}

// ---- membership ----

Result<ConfState> Raft::apply_conf_change(const ConfChange& cc) {
  TrackerConfig cfg = tracker_.config();
  if (cc.node_id != kNone) {
    switch (cc.type) {
      case ConfChangeType::kAddVoter:
        cfg.learners.erase(cc.node_id);
        cfg.voters.insert(cc.node_id);
        break;
      case ConfChangeType::kAddLearner:
        cfg.voters.erase(cc.node_id);
        cfg.learners.insert(cc.node_id);
        break;
      case ConfChangeType::kRemoveNode:
        cfg.voters.erase(cc.node_id);
        cfg.learners.erase(cc.node_id);
        break;
      default:
        return Status::InvalidArgument("raft: unknown configuration change type");
    }
    if (cfg.voters.empty()) return Status::InvalidArgument("raft: removed all voters");
  }
  switch_to_config(cfg);
  return cfg.to_conf_state();
}

void Raft::apply_conf_state(const ConfState& cs) {
  TrackerConfig cfg;
  cfg.voters.insert(cs.voters.begin(), cs.voters.end());
  for (NodeId id : cs.learners) {
    if (!cfg.voters.count(id)) cfg.learners.insert(id);
  }
  switch_to_config(cfg);
}

void Raft::switch_to_config(const TrackerConfig& cfg) {
  tracker_.set_config(cfg, log_.last_index() + 1);
  is_learner_ = tracker_.is_learner(id_);
  if (role_ != Role::kLeader) return;
  if (!tracker_.is_voter(id_)) {
    // A leader removed (or demoted) steps down; the others elect a successor (§4.2.2).
    become_follower(term_, kNone);
    return;
  }
  if (lead_transferee_ != kNone && !tracker_.is_voter(lead_transferee_)) abort_leader_transfer();
  // The quorum changed: entries may now be committed.
  if (maybe_commit()) {
    release_pending_read_index_messages();
    bcast_append();
  } else {
    for (auto& [id, pr] : tracker_.progress()) {
      if (id != id_) maybe_send_append(id, false);
    }
  }
}

}  // namespace keel::raft
