// Helpers shared by the WAL tests: entries with recognisable data, and reading a log back.
#ifndef KEEL_TESTS_UNIT_WAL_WAL_TEST_UTIL_H_
#define KEEL_TESTS_UNIT_WAL_WAL_TEST_UTIL_H_

#include <string>
#include <vector>

#include "wal/wal.h"

namespace keel::wal {

inline raft::Entry make_entry(uint64_t index, uint64_t term, size_t size = 40) {
  raft::Entry e;
  e.index = index;
  e.term = term;
  e.data = "entry " + std::to_string(index) + " term " + std::to_string(term) + " ";
  e.data.resize(std::max(size, e.data.size()), static_cast<char>('a' + index % 26));
  return e;
}

inline std::vector<raft::Entry> make_entries(uint64_t first, uint64_t last, uint64_t term, size_t size = 40) {
  std::vector<raft::Entry> v;
  for (uint64_t i = first; i <= last; ++i) v.push_back(make_entry(i, term, size));
  return v;
}

inline raft::HardState hard_state(uint64_t term, uint64_t vote, uint64_t commit) {
  raft::HardState hs;
  hs.term = term;
  hs.vote = vote;
  hs.commit = commit;
  return hs;
}

}  // namespace keel::wal

#endif  // KEEL_TESTS_UNIT_WAL_WAL_TEST_UTIL_H_
