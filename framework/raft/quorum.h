// Majority arithmetic (dissertation §3.4, §3.6): which index a majority of voters has, and how
// an election stands. Pure functions of their inputs, checked against a naive model in tests.
#ifndef KEEL_RAFT_QUORUM_H_
#define KEEL_RAFT_QUORUM_H_

#include <cstdint>
#include <map>
#include <set>

#include "raft/messages.h"

namespace keel::raft {

enum class VoteResult : uint8_t { kPending = 0, kLost = 1, kWon = 2 };

// The largest index that a majority of `voters` has acknowledged (a voter missing from `acked`
// counts as 0). 0 when there are no voters.
uint64_t MajorityCommitted(const std::set<NodeId>& voters, const std::map<NodeId, uint64_t>& acked);

// The state of an election among `voters`, given the answers so far (true = granted). Answers
// from non-voters are ignored.
VoteResult MajorityVoteResult(const std::set<NodeId>& voters, const std::map<NodeId, bool>& votes);

}  // namespace keel::raft

#endif  // KEEL_RAFT_QUORUM_H_
