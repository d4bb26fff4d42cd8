// bench/load/keys.h: keys are --key-size bytes, distinct, in index order; sequential keys cycle.
#include "keys.h"

#include <gtest/gtest.h>

#include <set>

namespace keel::bench {
namespace {

TEST(KeySpace, KeysArePaddedHexOfTheKeySize) {
  Options o;
  o.key_size = 10;
  o.key_prefix = "b/";
  o.key_space_size = 300;
  KeySpace k(o);
  EXPECT_EQ(k.key(0), "b/00000000");
  EXPECT_EQ(k.key(255), "b/000000ff");
  std::set<std::string> all;
  for (uint64_t i = 0; i < 300; ++i) {
    ASSERT_EQ(k.key(i).size(), 10u);
    if (i > 0) {
      ASSERT_LT(k.key(i - 1), k.key(i));
    }
    all.insert(k.key(i));
  }
  EXPECT_EQ(all.size(), 300u);
}

TEST(KeySpace, SequentialKeysCycleAndRandomKeysStayInside) {
  Options o;
  o.key_space_size = 7;
  o.sequential_keys = true;
  std::mt19937_64 rng(1);
  KeySpace seq(o);
  for (uint64_t op = 0; op < 20; ++op) EXPECT_EQ(seq.pick(op, rng), op % 7);
  o.sequential_keys = false;
  KeySpace rnd(o);
  std::set<uint64_t> seen;
  for (uint64_t op = 0; op < 1000; ++op) {
    const uint64_t i = rnd.pick(op, rng);
    ASSERT_LT(i, 7u);
    seen.insert(i);
  }
  EXPECT_EQ(seen.size(), 7u);
}

TEST(KeySpace, ValuesHaveTheAskedSize) {
  EXPECT_EQ(make_value(0, 1), "");
  EXPECT_EQ(make_value(256, 1).size(), 256u);
  EXPECT_EQ(make_value(16, 1), make_value(16, 1));
}

}  // namespace
}  // namespace keel::bench
