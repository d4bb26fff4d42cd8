#include "invariants.h"

#include <sstream>

namespace keel::raft::sim {

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void InvariantChecker::record_chain(NodeId who, uint64_t index, uint64_t term, uint64_t chain) {
  auto [it, inserted] = chains_.emplace(std::make_pair(index, term), chain);
  if (!inserted && it->second != chain) {
    std::ostringstream os;
    os << "log matching: member " << who << " holds entry " << index << "@" << term
       << " with a different prefix than another member";
    fail(os.str());
  }
}

const uint64_t* InvariantChecker::chain_of(uint64_t index, uint64_t term) const {
  auto it = chains_.find({index, term});
  return it == chains_.end() ? nullptr : &it->second;
}

void InvariantChecker::observe_leader(NodeId who, uint64_t term) {
  auto [it, inserted] = leaders_.emplace(term, who);
  if (!inserted && it->second != who) {
    std::ostringstream os;
    os << "election safety: members " << it->second << " and " << who << " both led term " << term;
    fail(os.str());
  }
}

void InvariantChecker::observe_commit(NodeId who, uint64_t index, uint64_t term,
                                      uint64_t leader_term) {
  auto [it, inserted] = commit_terms_.emplace(index, term);
  if (!inserted && it->second != term) {
    std::ostringstream os;
    os << "commit: member " << who << " committed " << index << "@" << term << " but " << index
       << "@" << it->second << " was committed before";
    fail(os.str());
  }
  if (index > max_commit_.first) max_commit_ = {index, term};
  if (leader_term != 0) {
    auto& best = leader_commits_[leader_term];
    if (index > best.first) best = {index, term};
  }
}

void InvariantChecker::completeness_failure(NodeId who, uint64_t leader_term, uint64_t index,
                                            uint64_t term, uint64_t have) {
  std::ostringstream os;
  os << "leader completeness: leader " << who << " of term " << leader_term
     << " lacks committed entry " << index << "@" << term << " (has term " << have << " there)";
  fail(os.str());
}

void InvariantChecker::observe_apply(NodeId who, const Entry& e, uint64_t state_hash_after) {
  const uint64_t eh = Fnv1a(e.data, e.term * 31 + static_cast<uint64_t>(e.type));
  auto [it, inserted] = applied_.emplace(e.index, std::make_pair(eh, state_hash_after));
  if (!inserted && (it->second.first != eh || it->second.second != state_hash_after)) {
    std::ostringstream os;
    os << "state machine safety: member " << who << " applied " << DescribeEntry(e)
       << " unlike another member at that index";
    fail(os.str());
  }
  if (e.index > max_applied_) max_applied_ = e.index;
}

void InvariantChecker::observe_snapshot_state(NodeId who, uint64_t index, uint64_t state_hash) {
  auto it = applied_.find(index);
  if (it != applied_.end() && it->second.second != state_hash) {
    std::ostringstream os;
    os << "state machine safety: member " << who << " restored a snapshot at " << index
       << " whose state differs from the state applied there";
    fail(os.str());
  }
}

void InvariantChecker::read_answered(NodeId who, const ReadState& rs) {
  auto it = reads_.find(rs.request_ctx);
  if (it == reads_.end()) {
    fail("read: member " + std::to_string(who) + " got an answer to unknown read " +
         rs.request_ctx);
    return;
  }
  if (rs.index < it->second) {
    std::ostringstream os;
    os << "linearizable read: " << rs.request_ctx << " at member " << who << " answered at index "
       << rs.index << " but index " << it->second << " was acknowledged before it was issued";
    fail(os.str());
  }
}

}  // namespace keel::raft::sim
