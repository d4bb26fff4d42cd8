// KeyIndex: visibility of revisions across generations, compaction and restore.
#include <gtest/gtest.h>

#include "mvcc/key_index.h"

namespace keel::mvcc {
namespace {

using namespace std::string_literals;

TEST(KeyIndex, VisibilityAcrossGenerations) {
  KeyIndex ix;
  ix.put("a", {2, 0}, 0);
  ix.put("a", {4, 0}, 0);
  ASSERT_TRUE(ix.tombstone("a", {6, 0}).ok());
  ix.put("a", {8, 0}, 5);
  EXPECT_FALSE(ix.get("a", 1));
  EXPECT_EQ(ix.get("a", 3)->modified, (Revision{2, 0}));
  EXPECT_EQ(ix.get("a", 5)->version, 2);
  EXPECT_EQ(ix.get("a", 5)->created, 2);
  EXPECT_FALSE(ix.get("a", 6));
  EXPECT_FALSE(ix.get("a", 7));
  EXPECT_EQ(ix.get("a", 8)->created, 8);
  EXPECT_EQ(ix.get("a", 8)->version, 1);
  EXPECT_EQ(ix.get_latest("a", 9)->lease, 5);
  EXPECT_TRUE(ix.tombstone("b", {9, 0}).is_failed_precondition());
  EXPECT_TRUE(ix.check().ok());
}

TEST(KeyIndex, RangesLimitsAndCounts) {
  KeyIndex ix;
  for (int i = 0; i < 5; ++i) ix.put(std::string(1, static_cast<char>('a' + i)), {i + 1, 0}, 0);
  ASSERT_TRUE(ix.tombstone("c", {6, 0}).ok());
  int64_t total = 0;
  auto revs = ix.revisions(KeyRange::from("a", "e"), 6, 2, &total);
  EXPECT_EQ(revs.size(), 2u);
  EXPECT_EQ(total, 3);
  EXPECT_EQ(ix.count(KeyRange::from("a", "e"), 5), 4);
  EXPECT_EQ(ix.count(KeyRange::from("\0"s, "\0"s), 6), 4);
  EXPECT_EQ(ix.count(KeyRange::from("d", "\0"s), 6), 2);
  EXPECT_EQ(ix.keys(KeyRange::from("c", ""), 5).size(), 1u);
}

TEST(KeyIndex, CompactKeepsWhatIsVisible) {
  KeyIndex ix;
  ix.put("a", {1, 0}, 0);
  ix.put("a", {2, 0}, 0);
  ix.put("b", {3, 0}, 0);
  ASSERT_TRUE(ix.tombstone("b", {4, 0}).ok());
  ix.put("c", {5, 0}, 0);
  EXPECT_EQ(ix.keep(4), (std::vector<Revision>{{2, 0}}));
  auto keep = ix.compact(4);
  EXPECT_EQ(keep, (std::vector<Revision>{{2, 0}}));
  EXPECT_EQ(ix.size(), 2u);  // b's whole life ended at or before 4
  EXPECT_EQ(ix.get("a", 4)->version, 2);
  EXPECT_EQ(ix.get("c", 5)->modified, (Revision{5, 0}));
  EXPECT_TRUE(ix.check().ok());
}

TEST(KeyIndex, RestoreTakesVersionsFromStoredValues) {
  KeyIndex ix;
  // After a compaction the first stored revision of "a" is its third change.
  ix.restore(KeyValue{"a", 2, 7, 3, "", 9}, {7, 0}, false);
  ix.restore(KeyValue{"a", 0, 0, 0, "", 0}, {8, 0}, true);
  ix.restore(KeyValue{"a", 9, 9, 1, "", 0}, {9, 0}, false);
  ix.restore(KeyValue{"z", 0, 0, 0, "", 0}, {10, 0}, true);  // an orphan tombstone
  EXPECT_EQ(ix.get("a", 7)->version, 3);
  EXPECT_EQ(ix.get("a", 7)->created, 2);
  EXPECT_FALSE(ix.get("a", 8));
  EXPECT_EQ(ix.get("a", 9)->created, 9);
  EXPECT_FALSE(ix.get("z", 10));
  EXPECT_TRUE(ix.check().ok());
}

}  // namespace
}  // namespace keel::mvcc
