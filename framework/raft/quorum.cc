#include "raft/quorum.h"

#include <algorithm>
#include <vector>

namespace keel::raft {

uint64_t MajorityCommitted(const std::set<NodeId>& voters,
                           const std::map<NodeId, uint64_t>& acked) {
  if (voters.empty()) return 0;
  std::vector<uint64_t> idx;
  idx.reserve(voters.size());
  for (NodeId id : voters) {
    auto it = acked.find(id);
    idx.push_back(it == acked.end() ? 0 : it->second);
  }
  std::sort(idx.begin(), idx.end());
  // With n voters a quorum is n/2+1: the (n/2+1)-th largest value is held by a quorum.
  const size_t n = idx.size();
  return idx[n - (n / 2 + 1)];
}

VoteResult MajorityVoteResult(const std::set<NodeId>& voters, const std::map<NodeId, bool>& votes) {
  if (voters.empty()) return VoteResult::kWon;  // vacuous, as etcd: nothing to win against
  size_t granted = 0, rejected = 0, missing = 0;
  for (NodeId id : voters) {
    auto it = votes.find(id);
    if (it == votes.end()) {
      ++missing;
    } else if (it->second) {
      ++granted;
    } else {
      ++rejected;
    }
  }
  const size_t q = voters.size() / 2 + 1;
  if (granted >= q) return VoteResult::kWon;
  if (granted + missing >= q) return VoteResult::kPending;
  return VoteResult::kLost;
}

}  // namespace keel::raft
