// The member's side of etcd's membership changes (node.h: change_members): the checks, the
// Raft configuration change proposed one at a time, and the peers following the members.
#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "raft/codec.h"
#include "server/errors.h"
#include "server/peer_frames.h"
#include "server/member_id.h"
#include "server/node.h"
#include "server/reconfig_check.h"

namespace keel::server {
namespace {

// etcd's readyPercent: a learner may be promoted once its log matches 90% of the leader's.
constexpr double kLearnerReadyShare = 0.9;
// etcd stops a removed member 10 ticks after applying its removal (stopWithDelay), so the
// leader's last messages still reach the others.
constexpr int kRemovalDelayTicks = 10;
// How many times a leader's self-removal is asked again after the leadership move it started
// failed it with "leader changed".
constexpr int kLeaderChangeRetries = 3;

// The answer of a membership entry is the members after it.
WriteCallback members_answer(MembersCallback done) {
  return [done = std::move(done)](Result<WriteResult> r) {
    if (!r.ok()) return done(r.status());
    if (auto* members = std::get_if<std::vector<Member>>(&*r)) return done(std::move(*members));
    done(Status::Internal("a membership change was answered with something else than the members"));
  };
}

// Asks `node` for `change`, again (up to `retries` times) while it fails with "leader changed".
void change_members_again(Node& node, MembershipChange change, MembersCallback done, int retries) {
  node.change_members(change, [&node, change, done = std::move(done), retries](Result<std::vector<Member>> r) mutable {
    if (!r.ok() && r.status() == ErrLeaderChanged() && retries > 0) {
      return change_members_again(node, std::move(change), std::move(done), retries - 1);
    }
    done(std::move(r));
  });
}

// The membership after `entries`' configuration changes, from `conf`.
Result<raft::ConfState> after_conf_changes(const raft::ConfState& conf, const std::vector<raft::Entry>& entries) {
  std::set<uint64_t> voters(conf.voters.begin(), conf.voters.end());
  std::set<uint64_t> learners(conf.learners.begin(), conf.learners.end());
  for (const raft::Entry& e : entries) {
    if (e.type != raft::EntryType::kConfChange) continue;
    Result<raft::ConfChange> cc = raft::DecodeConfChange(e.data);
    if (!cc.ok()) return cc.status().with_context("the configuration change at index " + std::to_string(e.index));
    std::set<uint64_t> next_voters = voters;
    std::set<uint64_t> next_learners = learners;
    next_voters.erase(cc->node_id);
    next_learners.erase(cc->node_id);
    if (cc->type == raft::ConfChangeType::kAddVoter) next_voters.insert(cc->node_id);
    if (cc->type == raft::ConfChangeType::kAddLearner) next_learners.insert(cc->node_id);
    // Raft refuses a change that leaves no voter, and every member applies it as none.
    if (next_voters.empty()) continue;
    voters = std::move(next_voters);
    learners = std::move(next_learners);
  }
  return raft::ConfState{{voters.begin(), voters.end()}, {learners.begin(), learners.end()}};
}

}  // namespace

Status Node::force_new_cluster(raft::HardState* hard_state, uint64_t applied) {
  // etcd's restartAsStandaloneNode: the membership once every committed entry is applied, then
  // one committed removal per other member after the commit index (what followed it was never
  // committed: it is overwritten).
  const std::string refusal = "cannot force a new cluster: ";
  if (storage_->needs_bootstrap()) {
    return Status::FailedPrecondition(refusal + "this member never received its cluster's log (it joined, and the "
                                      "leader's snapshot never came): there is nothing to go on with");
  }
  if (applied > hard_state->commit) {
    return Status::FailedPrecondition(refusal + "the store holds entries up to index " + std::to_string(applied) +
                                      " that the log does not (a leader's store received just before a crash)");
  }
  Result<raft::Snapshot> snap = storage_->snapshot();
  if (!snap.ok()) return snap.status();
  const uint64_t commit = hard_state->commit;
  std::vector<raft::Entry> committed;
  if (commit > snap->metadata.index) {
    Result<std::vector<raft::Entry>> read = storage_->entries(snap->metadata.index + 1, commit + 1, UINT64_MAX);
    if (!read.ok()) return read.status().with_context("reading the committed entries");
    committed = std::move(read).value();
  }
  Result<raft::ConfState> conf = after_conf_changes(snap->metadata.conf_state, committed);
  if (!conf.ok()) return conf.status();
  std::vector<std::pair<raft::ConfChangeType, uint64_t>> changes;
  // A learner (or a member the log does not know yet) becomes a voter first: removing the last
  // other voter before would be refused (Raft keeps at least one), leaving no quorum.
  if (std::find(conf->voters.begin(), conf->voters.end(), member_id_) == conf->voters.end()) {
    changes.emplace_back(raft::ConfChangeType::kAddVoter, member_id_);
  }
  for (const std::vector<uint64_t>* ids : {&conf->voters, &conf->learners}) {
    for (uint64_t id : *ids) {
      if (id != member_id_) changes.emplace_back(raft::ConfChangeType::kRemoveNode, id);
    }
  }
  std::vector<raft::Entry> forced;
  for (const auto& [type, id] : changes) {
    MemberChange record;
    record.member = state_->members().find(id).value_or(
        id == member_id_ ? Member{id, options_.name, options_.peer_urls, {}, false} : Member{id, "", {}, {}, false});
    record.member.is_learner = false;
    raft::Entry e;
    e.type = raft::EntryType::kConfChange;
    e.term = hard_state->term;
    e.index = commit + forced.size() + 1;
    e.data = raft::EncodeConfChange(raft::ConfChange{type, id, encode_member_change(record)});
    forced.push_back(std::move(e));
  }
  if (forced.empty()) return Status::OK();
  hard_state->commit = forced.back().index;
  KEEL_RETURN_IF_ERROR(storage_->persist(*hard_state, forced, true));
  log(options_.logger, LogLevel::kWarn,
      "forcing a new cluster: " + std::to_string(forced.size()) + " configuration changes committed after index " +
          std::to_string(commit) + " leave member " + id_to_hex(member_id_) + " the only voter");
  return Status::OK();
}

void Node::change_members(MembershipChange change, MembersCallback done) {
  using Kind = MembershipChange::Kind;
  // Only the leader knows how far a learner's log matches its own; and a follower removing
  // itself might never see its removal commit (the leader stops sending to it), so the leader,
  // which applies it, answers.
  const bool self_removal = change.kind == Kind::kRemove && change.member_id == member_id_;
  if (change.kind == Kind::kPromote || self_removal) {
    Result<uint64_t> leader = leader_to_ask();
    if (!leader.ok()) return done(leader.status());
    if (*leader != raft::kNone) {
      return ask_leader(*leader, self_removal ? PeerMethod::kRemoveMember : PeerMethod::kPromoteMember,
                        encode_member_request(change.member_id), decode_members, std::move(done));
    }
  }
  if (change.kind == Kind::kPromote) {
    // etcd counts a promotion's outcome on the leader that decided it.
    done = [this, done = std::move(done)](Result<std::vector<Member>> r) {
      if (r.ok()) {
        m_.learner_promote_successes->inc();
      } else {
        m_.learner_promote_failures->with({r.status().message()}).inc();
      }
      done(std::move(r));
    };
  }
  if (change.kind == Kind::kAdd && peers_ == nullptr) {
    return done(Status::FailedPrecondition("a member without a transport cannot reach a new member"));
  }
  if (self_removal && leader_.load() == member_id_) {
    // A leader removing itself steps down first: the change then commits under a leader that
    // stays, rather than one that stops as soon as it is applied.
    uint64_t successor = raft::kNone;
    const auto now = std::chrono::steady_clock::now();
    for (const Member& m : members()) {
      if (m.id != member_id_ && !m.is_learner && peers_ != nullptr && peers_->active_since(m.id, now)) {
        successor = m.id;
        break;
      }
    }
    if (successor != raft::kNone) {
      return move_leader(successor, now + request_timeout_,
                         [this, change = std::move(change), done = std::move(done)](Status moved) mutable {
                           if (!moved.ok()) return done(moved);
                           // The move itself may still fail the read round or the proposal that
                           // follow it ("leader changed"): asked again, they meet the new leader.
                           change_members_again(*this, std::move(change), std::move(done), kLeaderChangeRetries);
                         });
    }
  }
  // After a linearizable read, the checks see every change committed before this one.
  read_barrier([this, change = std::move(change), done = std::move(done)](Status ready) mutable {
    if (!ready.ok()) return done(ready);
    check_and_propose(change, std::move(done));
  });
}

Status Node::check_membership_change(const MembershipChange& change) const {
  using Kind = MembershipChange::Kind;
  const MemberStore& members = state_->members();
  const Member added{change.member_id, "", change.peer_urls, {}, change.learner};
  // etcd asks --strict-reconfig-check's questions first, then the membership's.
  if (options_.strict_reconfig_check && change.kind != Kind::kUpdate) {
    const auto now = std::chrono::steady_clock::now();
    ClusterView view;
    view.members = members.list();
    view.self = member_id_;
    view.now = now;
    view.active_since = [this, now](uint64_t id) -> std::optional<ClusterView::Time> {
      if (peers_ == nullptr) return std::nullopt;
      return peers_->active_since(id, now);
    };
    Status s;
    if (change.kind == Kind::kAdd) s = may_add_member(view, added);
    if (change.kind == Kind::kRemove) s = may_remove_member(view, change.member_id);
    if (change.kind == Kind::kPromote) s = may_promote_member(view, change.member_id);
    KEEL_RETURN_IF_ERROR(s);
  }
  switch (change.kind) {
    case Kind::kAdd: return members.check_add(added);
    case Kind::kRemove: return members.check_remove(change.member_id);
    case Kind::kPromote: return members.check_promote(change.member_id);
    case Kind::kUpdate: return members.check_update(change.member_id, change.peer_urls);
  }
  return Status::OK();
}

void Node::check_and_propose(const MembershipChange& change, MembersCallback done) {
  using Kind = MembershipChange::Kind;
  std::shared_lock lock(state_mu_);
  Status refused = check_membership_change(change);
  std::optional<Member> existing = state_->members().find(change.member_id);
  lock.unlock();
  if (!refused.ok()) return done(refused);
  if (change.kind == Kind::kUpdate) {
    // Not a Raft configuration change: the voters stay the same.
    return propose(MemberUpdateRequest{change.member_id, change.peer_urls}, members_answer(std::move(done)));
  }
  ConfProposal p{next_request_id(), raft::ConfChange{}, change.kind == Kind::kPromote};
  MemberChange record;
  record.request_id = p.id;
  switch (change.kind) {
    case Kind::kAdd:
      record.member = Member{change.member_id, "", change.peer_urls, {}, change.learner};
      p.change.type = change.learner ? raft::ConfChangeType::kAddLearner : raft::ConfChangeType::kAddVoter;
      break;
    case Kind::kRemove:
      record.member = existing.value_or(Member{change.member_id, "", {}, {}, false});
      p.change.type = raft::ConfChangeType::kRemoveNode;
      break;
    case Kind::kPromote:
      record.member = existing.value_or(Member{change.member_id, "", {}, {}, false});
      record.member.is_learner = false;
      p.change.type = raft::ConfChangeType::kAddVoter;
      break;
    case Kind::kUpdate: break;
  }
  p.change.node_id = change.member_id;
  p.change.context = encode_member_change(record);
  if (!has_leader()) return done(ErrNoLeader());
  const uint64_t id = p.id;
  writes_.add(id, members_answer(std::move(done)), std::chrono::steady_clock::now() + request_timeout_);
  m_.proposals_pending->inc();
  {
    std::lock_guard<std::mutex> raft_lock(raft_mu_);
    if (!stopping_) {
      conf_changes_in_.push_back(std::move(p));
      raft_cv_.notify_one();
      return;
    }
  }
  fail_proposal(id, ErrStopped());
}

void Node::propose_conf_changes() {
  while (!conf_changes_.empty()) {
    // One change at a time (etcd's rule, and Raft's): Raft counts a change as applied once it
    // handed it out; the members here change only when the apply thread has applied it.
    if (applied_.load() < driver_->last_conf_change_index()) return;
    ConfProposal p = std::move(conf_changes_.front());
    conf_changes_.pop_front();
    if (p.promote) {
      Status ready = learner_ready(p.change.node_id);
      if (!ready.ok()) {
        fail_proposal(p.id, ready);
        continue;
      }
    }
    Status s = driver_->raft().propose_conf_change(p.change);
    if (!s.ok()) {
      // etcd's leader turns a change proposed while another is pending into an empty entry, and
      // its caller times out: the same answer, at once.
      fail_proposal(p.id, raft::IsConfChangePending(s) ? ErrTimeout() : proposal_error(s));
      continue;
    }
    writes_.handed({p.id}, leader_epoch_);
  }
}

Status Node::learner_ready(uint64_t id) const {
  const raft::RaftStatus status = driver_->raft().status();
  if (status.soft_state.role != raft::Role::kLeader) return ErrNotLeader();
  auto learner = status.progress.find(id);
  auto leader = status.progress.find(member_id_);
  if (learner == status.progress.end() || leader == status.progress.end()) return ErrMemberNotFound();
  if (static_cast<double>(learner->second.match) < static_cast<double>(leader->second.match) * kLearnerReadyShare) {
    return ErrLearnerNotReady();
  }
  return Status::OK();
}

void Node::follow_members() {
  const std::vector<Member> members = state_->members().list();
  for (const Member& m : members) {
    if (m.id == member_id_) note_learner(m.is_learner);
  }
  if (peers_ != nullptr) {
    std::map<uint64_t, std::vector<std::string>> peers;
    for (const Member& m : members) {
      if (m.id != member_id_) peers[m.id] = m.peer_urls;
    }
    Status s = peers_->set_peers(peers, std::chrono::steady_clock::now());
    if (!s.ok()) log(options_.logger, LogLevel::kWarn, "the peers cannot follow the members: " + s.to_string());
  }
  if (!removal_applied_.load() && state_->members().is_removed(member_id_)) {
    log(options_.logger, LogLevel::kWarn,
        "this member (" + id_to_hex(member_id_) + ") was removed from the cluster: it stops serving");
    removal_applied_ = true;
  }
}

void Node::ask_if_removed() {
  if (driver_->lead() != raft::kNone || removal_applied_.load() || peers_ == nullptr) {
    leaderless_ticks_ = 0;
    return;
  }
  const int every = 2 * static_cast<int>(options_.election_timeout / options_.heartbeat_interval);
  if (++leaderless_ticks_ % every != 0) return;
  std::vector<Member> members;
  {
    std::shared_lock lock(state_mu_);
    members = state_->members().list();
  }
  for (const Member& m : members) {
    if (m.id == member_id_) continue;
    for (const std::string& url : m.peer_urls) {
      peers_->introduce(url, encode_removal_question(member_id_), options_.election_timeout,
                        [this, peer = m.id](Result<std::string> answer) {
                          if (!answer.ok() || *answer != std::string(1, '\1') || removal_applied_.exchange(true)) return;
                          log(options_.logger, LogLevel::kWarn,
                              "member " + id_to_hex(peer) + " says this member (" + id_to_hex(member_id_) +
                                  ") was removed from the cluster: it stops serving");
                        });
    }
  }
}

void Node::note_removal() {
  if (!removal_applied_.load() || removed_.load()) return;
  if (++removal_ticks_ < kRemovalDelayTicks) return;
  log(options_.logger, LogLevel::kWarn, "the member has been permanently removed from the cluster");
  removed_ = true;
}

}  // namespace keel::server
