// ProgressTracker: the membership as the Raft state machine uses it (voters, learners) with the
// leader's Progress for each member and the votes of the current election.
//
// Thread safety: none — single-threaded by contract.
#ifndef KEEL_RAFT_TRACKER_H_
#define KEEL_RAFT_TRACKER_H_

#include <cstdint>
#include <map>
#include <set>

#include "raft/messages.h"
#include "raft/progress.h"
#include "raft/quorum.h"

namespace keel::raft {

struct TrackerConfig {
  std::set<NodeId> voters;
  std::set<NodeId> learners;  // disjoint from voters

  ConfState to_conf_state() const;
  friend bool operator==(const TrackerConfig&, const TrackerConfig&) = default;
};

class ProgressTracker {
 public:
  ProgressTracker(size_t max_inflight, uint64_t max_inflight_bytes)
      : max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {}

  // Replaces the membership; keeps the progress of members that stay, creates progress with
  // next = `next` for new ones, drops the others.
  void set_config(const TrackerConfig& cfg, uint64_t next);

  // Forgets every member's progress (as after an election): match 0, next = `next`, probing,
  // inactive.
  void reset_all(uint64_t next);
  // Forgets the membership and every progress (before restoring a snapshot's membership).
  void clear() {
    config_ = TrackerConfig{};
    progress_.clear();
    votes_.clear();
  }

  const TrackerConfig& config() const { return config_; }
  bool is_voter(NodeId id) const { return config_.voters.count(id) > 0; }
  bool is_learner(NodeId id) const { return config_.learners.count(id) > 0; }
  bool is_member(NodeId id) const { return is_voter(id) || is_learner(id); }

  // Every member's progress, ordered by id.
  std::map<NodeId, Progress>& progress() { return progress_; }
  const std::map<NodeId, Progress>& progress() const { return progress_; }
  Progress* get(NodeId id);

  // The largest index a quorum of voters matches.
  uint64_t committed() const;
  // True iff a quorum of voters was recently active (the leader counts itself active).
  bool quorum_active(NodeId self) const;

  void reset_votes() { votes_.clear(); }
  // Records a vote (the first answer of each member counts) and returns the tally.
  VoteResult record_vote(NodeId id, bool granted);
  VoteResult tally() const { return MajorityVoteResult(config_.voters, votes_); }
  // (granted, rejected) among voters.
  std::pair<size_t, size_t> vote_counts() const;

 private:
  size_t max_inflight_;
  uint64_t max_inflight_bytes_;
  TrackerConfig config_;
  std::map<NodeId, Progress> progress_;
  std::map<NodeId, bool> votes_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_TRACKER_H_
