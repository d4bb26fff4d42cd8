// InvariantChecker: the safety properties of Raft (dissertation §3.6, Figure 3.2), checked
// incrementally as a simulated cluster runs, plus linearizability of ReadIndex reads.
//
//   Election safety:       at most one leader per term.
//   Log matching:          two logs holding an entry with the same index and term are identical
//                          up to it. Checked with a hash chain over each member's persisted log:
//                          chain(i) = H(chain(i-1), term(i), data(i)); equal (index, term) must
//                          mean equal chains.
//   Leader completeness:   a leader's log holds the highest committed entry (hence, by log
//                          matching, every committed entry).
//   State machine safety:  no two members apply different entries at one index, and a
//                          snapshot's state equals the state applied up to its index.
//   Reads:                 a ReadIndex read is answered at an index no lower than that of every
//                          write acknowledged (applied anywhere) before the read was issued.
//
// Thread safety: none.
#ifndef KEEL_TESTS_SIM_INVARIANTS_H_
#define KEEL_TESTS_SIM_INVARIANTS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "raft/raft.h"

namespace keel::raft::sim {

uint64_t Fnv1a(std::string_view s, uint64_t h = 1469598103934665603ULL);

class InvariantChecker {
 public:
  // Every violation is recorded here (the first one is the one to look at).
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  void fail(const std::string& what) {
    if (failure_.empty()) failure_ = what;
  }

  // The chain value of the bootstrap snapshot (index 1, term 1) every founding member shares.
  static uint64_t BootstrapChain() { return 0x6b65656c; }
  // Records the chain of entry (index, term) as computed by some member.
  void record_chain(NodeId who, uint64_t index, uint64_t term, uint64_t chain);
  // The chain recorded for (index, term), if any.
  const uint64_t* chain_of(uint64_t index, uint64_t term) const;

  void observe_leader(NodeId who, uint64_t term);
  // `who` knows entries up to `index` (whose term is `term`) are committed; `leader_term` is
  // its term if it leads (it committed them in that term), else 0.
  void observe_commit(NodeId who, uint64_t index, uint64_t term, uint64_t leader_term);
  // Leader completeness (§3.6.3): `who`, leading in `leader_term`, must hold every entry that
  // leaders of earlier terms committed. `term_at(i)` is the term of its entry i (0 = none,
  // UINT64_MAX = compacted).
  template <typename TermAt>
  void check_leader_completeness(NodeId who, uint64_t leader_term, TermAt term_at) {
    uint64_t index = 0, term = 0;
    for (const auto& [lt, it] : leader_commits_) {
      if (lt >= leader_term) break;
      if (it.first > index) {
        index = it.first;
        term = it.second;
      }
    }
    if (index == 0) return;
    const uint64_t have = term_at(index);
    // UINT64_MAX: compacted into the leader's snapshot, which only holds committed entries.
    if (have != term && have != UINT64_MAX)
      completeness_failure(who, leader_term, index, term, have);
  }
  uint64_t max_commit_index() const { return max_commit_.first; }

  void observe_apply(NodeId who, const Entry& e, uint64_t state_hash_after);
  void observe_snapshot_state(NodeId who, uint64_t index, uint64_t state_hash);
  uint64_t max_applied() const { return max_applied_; }

  // A read issued now, with the writes acknowledged so far.
  void read_issued(const std::string& ctx) { reads_[ctx] = max_applied_; }
  void read_answered(NodeId who, const ReadState& rs);

 private:
  std::string failure_;
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> chains_;  // (index, term) -> chain
  std::map<uint64_t, NodeId> leaders_;                        // term -> leader
  void completeness_failure(NodeId who, uint64_t leader_term, uint64_t index, uint64_t term,
                            uint64_t have);

  std::map<uint64_t, uint64_t> commit_terms_;  // index -> term, as observed
  // leader term -> the highest (index, entry term) a leader committed in it
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> leader_commits_;
  std::pair<uint64_t, uint64_t> max_commit_{1, 1};             // (index, term)
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> applied_;  // index -> (entry hash, state)
  uint64_t max_applied_ = 1;
  std::map<std::string, uint64_t> reads_;  // ctx -> acknowledged index at issue
};

}  // namespace keel::raft::sim

#endif  // KEEL_TESTS_SIM_INVARIANTS_H_
