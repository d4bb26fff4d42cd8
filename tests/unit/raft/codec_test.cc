// The binary encoding of Raft messages (docs/format/raft-messages.md): round trips, canonical
// form, and refusal of every malformed input without crashing or over-reading.
#include "raft/codec.h"

#include <gtest/gtest.h>

#include "raft/random.h"

namespace keel::raft {
namespace {

Message Sample() {
  Message m;
  m.type = MessageType::kApp;
  m.to = 2;
  m.from = 1;
  m.term = 7;
  m.log_term = 6;
  m.index = 300;
  m.commit = 299;
  m.reject = true;
  m.reject_hint = 1ULL << 40;
  m.context = "ctx";
  m.entries = {{7, 301, EntryType::kNormal, "hello"}, {7, 302, EntryType::kConfChange, "cc"}};
  m.snapshot.metadata = SnapshotMetadata{ConfState{{1, 2, 3}, {4}}, 250, 5};
  m.snapshot.data = std::string(1000, 's');
  return m;
}

TEST(CodecTest, MessageRoundTrip) {
  const Message m = Sample();
  auto d = DecodeMessage(EncodeMessage(m));
  ASSERT_TRUE(d.ok()) << d.status().to_string();
  EXPECT_EQ(*d, m);
  Message empty;
  auto e = DecodeMessage(EncodeMessage(empty));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(*e, empty);
}

TEST(CodecTest, EveryMessageTypeRoundTrips) {
  for (uint8_t t = 0; t <= kMaxMessageType; ++t) {
    Message m;
    m.type = static_cast<MessageType>(t);
    m.term = t;
    auto d = DecodeMessage(EncodeMessage(m));
    ASSERT_TRUE(d.ok()) << "#" << int(t);
    EXPECT_EQ(d->type, m.type) << "#" << int(t);
  }
}

// Every strict prefix of a valid encoding is refused as Corruption.
TEST(CodecTest, TruncationIsCorruption) {
  const std::string b = EncodeMessage(Sample());
  for (size_t n = 0; n < b.size(); ++n) {
    auto d = DecodeMessage(std::string_view(b.data(), n));
    ASSERT_FALSE(d.ok()) << "#" << n;
    EXPECT_TRUE(d.status().is_corruption()) << "#" << n;
  }
}

TEST(CodecTest, MalformedInputsAreCorruption) {
  const std::string good = EncodeMessage(Sample());
  struct Row {
    std::string bytes;
    const char* why;
  };
  std::vector<Row> rows;
  std::string b = good;
  b[0] = 2;
  rows.push_back({b, "unknown version"});
  b = good;
  b[1] = static_cast<char>(kMaxMessageType + 1);
  rows.push_back({b, "unknown type"});
  rows.push_back({good + "x", "trailing byte"});
  std::string overlong = {char(kCodecVersion), 3, char(0x80), 0};  // non-canonical varint
  rows.push_back({overlong, "overlong varint"});
  std::string huge = {char(kCodecVersion), 3};
  for (int i = 0; i < 9; ++i) huge.push_back(char(0xff));
  huge.push_back(2);  // 10th byte > 1: overflows 64 bits
  rows.push_back({huge, "varint overflow"});
  Message m;
  std::string e = EncodeMessage(m);
  e[e.size() - 3] = 0x7f;  // flags byte: unknown bits
  rows.push_back({e, "unknown flags"});
  std::string count = EncodeMessage(Message{});
  count.back() = 0x7f;  // 127 entries claimed with no bytes left
  rows.push_back({count, "entry count past the input"});
  for (size_t i = 0; i < rows.size(); ++i) {
    auto d = DecodeMessage(rows[i].bytes);
    ASSERT_FALSE(d.ok()) << "#" << i << " " << rows[i].why;
    EXPECT_TRUE(d.status().is_corruption()) << "#" << i << " " << rows[i].why;
  }
}

// Random byte flips never crash; whatever decodes re-encodes to the same bytes (canonical).
TEST(CodecTest, RandomCorruptionNeverCrashes) {
  SplitMix64 rng(42);
  const std::string good = EncodeMessage(Sample());
  for (int i = 0; i < 20000; ++i) {
    std::string b = good;
    const int flips = 1 + static_cast<int>(rng.uniform(4));
    for (int f = 0; f < flips; ++f) b[rng.uniform(b.size())] = static_cast<char>(rng.uniform(256));
    b.resize(rng.uniform(b.size() + 1));
    auto d = DecodeMessage(b);
    if (d.ok()) {
      EXPECT_EQ(EncodeMessage(*d), b) << "#" << i;
    }
  }
}

TEST(CodecTest, ConfChangeRoundTripAndRefusals) {
  ConfChange cc{ConfChangeType::kRemoveNode, 77, "peer-url"};
  auto d = DecodeConfChange(EncodeConfChange(cc));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, cc);
  std::string b = EncodeConfChange(cc);
  b[1] = 9;
  EXPECT_TRUE(DecodeConfChange(b).status().is_corruption());
  EXPECT_TRUE(DecodeConfChange("").status().is_corruption());
}

TEST(CodecTest, EntryHardStateMetadataRoundTrip) {
  Entry e{3, 9, EntryType::kConfChange, "abc"};
  EXPECT_EQ(*DecodeEntry(EncodeEntry(e)), e);
  HardState hs{5, 2, 40};
  EXPECT_EQ(*DecodeHardState(EncodeHardState(hs)), hs);
  SnapshotMetadata md{ConfState{{1, 2}, {3}}, 10, 4};
  EXPECT_EQ(*DecodeSnapshotMetadata(EncodeSnapshotMetadata(md)), md);
  EXPECT_FALSE(DecodeHardState(EncodeHardState(hs) + "z").ok());
}

TEST(CodecTest, Varints) {
  for (uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 300ULL, 1ULL << 35, ~0ULL}) {
    std::string b;
    PutVarint64(&b, v);
    std::string_view in = b;
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint64(&in, &got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(in.empty());
  }
}

}  // namespace
}  // namespace keel::raft
