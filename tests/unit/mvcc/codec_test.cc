// The byte formats of docs/format/mvcc.md: revision keys and keel's KeyValue encoding, including
// every way garbage must come back as Corruption.
#include <gtest/gtest.h>

#include <random>

#include "mvcc/kv_codec.h"
#include "mvcc/revision.h"

namespace keel::mvcc {
namespace {

TEST(RevisionKey, LayoutAndOrder) {
  const std::string k = encode_revision_key(Revision{0x0102030405060708, 9});
  ASSERT_EQ(k.size(), 17u);
  EXPECT_EQ(k, std::string("\x01\x02\x03\x04\x05\x06\x07\x08_\0\0\0\0\0\0\0\x09", 17));
  EXPECT_EQ(encode_revision_key(Revision{1, 2}, true).back(), 't');
  EXPECT_LT(encode_revision_key(Revision{1, 255}), encode_revision_key(Revision{2, 0}));
  EXPECT_LT(encode_revision_key(Revision{255, 0}), encode_revision_key(Revision{256, 0}));
  auto d = decode_revision_key(encode_revision_key(Revision{7, 3}, true));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->rev, (Revision{7, 3}));
  EXPECT_TRUE(d->tombstone);
  for (std::string bad : {std::string("short"), std::string(17, 'x'), std::string(18, '\0'),
                          std::string(16, '\0')}) {
    EXPECT_TRUE(decode_revision_key(bad).status().is_corruption()) << bad.size();
  }
}

TEST(KeyValueCodec, RoundTripsAnyBytes) {
  KeyValue kv{std::string("k\0\xff", 3), 1, -2, INT64_MAX, std::string("\0v\xff", 3), INT64_MIN};
  KeyValue out;
  ASSERT_TRUE(decode_key_value(encode_key_value(kv), &out).ok());
  EXPECT_EQ(out, kv);
  KeyValue keys_only;
  ASSERT_TRUE(decode_key_value(encode_key_value(kv), &keys_only, true).ok());
  EXPECT_TRUE(keys_only.value.empty());
  EXPECT_EQ(keys_only.key, kv.key);
  ASSERT_TRUE(decode_key_value(encode_key_value(KeyValue{}), &out).ok());
  EXPECT_EQ(out, KeyValue{});
}

TEST(KeyValueCodec, GarbageIsCorruption) {
  const std::string good = encode_key_value(KeyValue{"key", 1, 2, 3, "value", 4});
  KeyValue out;
  // Every truncation, a trailing byte, another format byte, a length past the end.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_TRUE(decode_key_value(good.substr(0, n), &out).is_corruption()) << n;
  }
  EXPECT_TRUE(decode_key_value(good + "x", &out).is_corruption());
  std::string other = good;
  other[0] = 2;
  EXPECT_TRUE(decode_key_value(other, &out).is_corruption());
  std::string long_key = good;
  long_key[1] = 0x7f;
  EXPECT_TRUE(decode_key_value(long_key, &out).is_corruption());
  EXPECT_TRUE(decode_key_value(std::string("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12), &out)
                  .is_corruption());
  // Random bytes never crash and never over-read (ASan checks the latter).
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string junk(rng() % 40, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (!junk.empty() && rng() % 2) junk[0] = 1;
    Status s = decode_key_value(junk, &out);
    EXPECT_TRUE(s.ok() || s.is_corruption());
  }
}

}  // namespace
}  // namespace keel::mvcc
