#include "raft/tracker.h"

#include <algorithm>
#include <vector>

namespace keel::raft {

ConfState TrackerConfig::to_conf_state() const {
  ConfState cs;
  cs.voters.assign(voters.begin(), voters.end());
  cs.learners.assign(learners.begin(), learners.end());
  return cs;
}

void ProgressTracker::set_config(const TrackerConfig& cfg, uint64_t next) {
  config_ = cfg;
  std::map<NodeId, Progress> fresh;
  auto keep = [&](NodeId id, bool learner) {
    auto it = progress_.find(id);
    if (it != progress_.end()) {
      it->second.is_learner = learner;
      fresh.emplace(id, std::move(it->second));
    } else {
      Progress p(next, max_inflight_, max_inflight_bytes_, learner);
      // A new member counts as active so that CheckQuorum does not depose the leader before
      // the member could answer once.
      p.recent_active = true;
      fresh.emplace(id, std::move(p));
    }
  };
  for (NodeId id : cfg.voters) keep(id, false);
  for (NodeId id : cfg.learners) keep(id, true);
  progress_ = std::move(fresh);
}

void ProgressTracker::reset_all(uint64_t next) {
  for (auto& [id, pr] : progress_) {
    pr = Progress(next, max_inflight_, max_inflight_bytes_, pr.is_learner);
  }
}

Progress* ProgressTracker::get(NodeId id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

uint64_t ProgressTracker::committed() const {
  // Hot (every acknowledgement): the same arithmetic as MajorityCommitted, without building a
  // map. Every voter has a progress (set_config guarantees it).
  if (config_.voters.empty()) return 0;
  uint64_t small[16];
  std::vector<uint64_t> large;
  uint64_t* idx = small;
  const size_t n = config_.voters.size();
  if (n > 16) {
    large.resize(n);
    idx = large.data();
  }
  size_t i = 0;
  for (NodeId id : config_.voters) {
    auto it = progress_.find(id);
    idx[i++] = it == progress_.end() ? 0 : it->second.match;
  }
  std::sort(idx, idx + n);
  return idx[n - (n / 2 + 1)];
}

bool ProgressTracker::quorum_active(NodeId self) const {
  std::map<NodeId, bool> active;
  for (const auto& [id, pr] : progress_) {
    if (pr.is_learner) continue;
    active[id] = (id == self) || pr.recent_active;
  }
  return MajorityVoteResult(config_.voters, active) == VoteResult::kWon;
}

VoteResult ProgressTracker::record_vote(NodeId id, bool granted) {
  votes_.emplace(id, granted);
  return tally();
}

std::pair<size_t, size_t> ProgressTracker::vote_counts() const {
  size_t g = 0, r = 0;
  for (const auto& [id, v] : votes_) {
    if (!config_.voters.count(id)) continue;
    (v ? g : r)++;
  }
  return {g, r};
}

}  // namespace keel::raft
