// RaftLog and Unstable (framework/raft/log.h): the log as storage plus unstable tail.
#include "raft/log.h"

#include <gtest/gtest.h>

#include "raft/errors.h"
#include "raft/memory_storage.h"

namespace keel::raft {
namespace {

Entry E(uint64_t term, uint64_t index) { return Entry{term, index, EntryType::kNormal, ""}; }

TEST(LogTest, FindConflict) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(2, 2), E(3, 3)});
  struct Row {
    std::vector<Entry> ents;
    uint64_t want;
  };
  const std::vector<Row> rows = {
      {{}, 0},
      {{E(1, 1), E(2, 2), E(3, 3)}, 0},
      {{E(2, 2), E(3, 3), E(4, 4)}, 4},
      {{E(4, 2), E(4, 3)}, 2},
      {{E(1, 1), E(4, 2)}, 2},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(log.find_conflict(rows[i].ents), rows[i].want) << "#" << i;
  }
}

TEST(LogTest, FindConflictByTerm) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(1, 2), E(3, 3), E(3, 4), E(5, 5)});
  struct Row {
    uint64_t index, term, want_index, want_term;
  };
  const std::vector<Row> rows = {
      {5, 5, 5, 5}, {5, 4, 4, 3}, {5, 2, 2, 1}, {4, 3, 4, 3}, {3, 0, 0, 0}, {9, 6, 9, 0},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    auto [idx, t] = log.find_conflict_by_term(rows[i].index, rows[i].term);
    EXPECT_EQ(idx, rows[i].want_index) << "#" << i;
    EXPECT_EQ(t, rows[i].want_term) << "#" << i;
  }
}

TEST(LogTest, MaybeAppendTruncatesConflicts) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(2, 2), E(3, 3)});
  auto r = log.maybe_append(1, 1, 3, {E(4, 2)});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 2u);
  EXPECT_EQ(log.last_index(), 2u);
  EXPECT_EQ(log.committed(), 2u);
  EXPECT_FALSE(log.maybe_append(2, 3, 3, {}).has_value());  // term mismatch
}

TEST(LogTest, UnstableOverridesStorageAndStablesTo) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(1, 2), E(1, 3)}).ok());
  RaftLog log(&s);
  EXPECT_EQ(log.last_index(), 3u);
  log.append({E(2, 2)});  // overrides 2 and 3
  EXPECT_EQ(log.last_index(), 2u);
  EXPECT_EQ(*log.term(2), 2u);
  EXPECT_EQ(log.persisted_index(), 1u);
  ASSERT_TRUE(s.append(log.unstable_entries()).ok());
  log.stable_to(2, 2);
  EXPECT_TRUE(log.unstable_entries().empty());
  EXPECT_EQ(log.persisted_index(), 2u);
  log.stable_to(2, 1);  // stale acknowledgement: ignored
}

TEST(LogTest, SliceRespectsMaxBytesAndCompaction) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(1, 2), E(1, 3), E(1, 4)}).ok());
  ASSERT_TRUE(s.compact(2).ok());
  RaftLog log(&s);
  log.append({E(1, 5), E(1, 6)});
  auto all = log.slice(3, 7, UINT64_MAX);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  auto one = log.slice(3, 7, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);  // at least one entry
  auto two = log.slice(3, 7, 2 * EntrySize(E(1, 3)));
  EXPECT_EQ(two->size(), 2u);
  EXPECT_TRUE(IsCompacted(log.slice(2, 4, UINT64_MAX).status()));
  EXPECT_TRUE(IsCompacted(log.term(1).status()));
  EXPECT_TRUE(IsUnavailable(log.term(7).status()));
}

TEST(LogTest, IsUpToDate) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(2, 2), E(3, 3)});
  EXPECT_TRUE(log.is_up_to_date(3, 3));
  EXPECT_TRUE(log.is_up_to_date(1, 4));
  EXPECT_FALSE(log.is_up_to_date(2, 3));
  EXPECT_FALSE(log.is_up_to_date(9, 2));
}

TEST(LogTest, NextCommittedEntries) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(1, 2), E(1, 3)});
  log.commit_to(2);
  auto ents = log.next_committed_entries(UINT64_MAX);
  ASSERT_EQ(ents.size(), 2u);
  log.applied_to(2);
  EXPECT_FALSE(log.has_next_committed_entries());
}

TEST(LogTest, RestoreSnapshot) {
  MemoryStorage s;
  RaftLog log(&s);
  log.append({E(1, 1), E(1, 2)});
  Snapshot snap;
  snap.metadata.index = 10;
  snap.metadata.term = 4;
  log.restore(snap);
  EXPECT_TRUE(log.has_pending_snapshot());
  EXPECT_EQ(log.first_index(), 11u);
  EXPECT_EQ(log.last_index(), 10u);
  EXPECT_EQ(*log.term(10), 4u);
  EXPECT_EQ(log.committed(), 10u);
  EXPECT_FALSE(log.has_next_committed_entries());
}

TEST(MemoryStorageTest, Basics) {
  MemoryStorage s;
  ASSERT_TRUE(s.append({E(1, 1), E(2, 2), E(3, 3)}).ok());
  EXPECT_EQ(*s.first_index(), 1u);
  EXPECT_EQ(*s.last_index(), 3u);
  EXPECT_EQ(*s.term(0), 0u);
  EXPECT_EQ(*s.term(3), 3u);
  EXPECT_TRUE(IsUnavailable(s.term(4).status()));
  ASSERT_TRUE(s.create_snapshot(2, ConfState{{1}, {}}, "d").ok());
  ASSERT_TRUE(s.compact(2).ok());
  EXPECT_TRUE(IsCompacted(s.term(1).status()));
  EXPECT_TRUE(IsCompacted(s.compact(1)));
  EXPECT_EQ(*s.term(2), 2u);
  EXPECT_TRUE(IsCompacted(s.entries(2, 3, UINT64_MAX).status()));
  EXPECT_EQ(s.entries(3, 4, UINT64_MAX)->size(), 1u);
  EXPECT_TRUE(IsSnapOutOfDate(s.create_snapshot(2, ConfState{}, "").status()));
  // Append replacing a suffix.
  ASSERT_TRUE(s.append({E(5, 3), E(5, 4)}).ok());
  EXPECT_EQ(*s.term(3), 5u);
  EXPECT_EQ(*s.last_index(), 4u);
  EXPECT_FALSE(s.append({E(5, 9)}).ok());  // gap
  Snapshot snap;
  snap.metadata.index = 1;
  EXPECT_TRUE(IsSnapOutOfDate(s.apply_snapshot(snap)));
}

}  // namespace
}  // namespace keel::raft
