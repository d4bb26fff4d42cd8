#include "wal/record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keel::wal {
namespace {

raft::Entry entry(uint64_t index, uint64_t term, std::string data,
                  raft::EntryType type = raft::EntryType::kNormal) {
  raft::Entry e;
  e.index = index;
  e.term = term;
  e.type = type;
  e.data = std::move(data);
  return e;
}

TEST(Record, PayloadsRoundTrip) {
  WalMetadata m{0x1122334455667788ull, 42};
  EXPECT_EQ(*decode_metadata(encode_metadata(m)), m);
  raft::HardState hs;
  hs.term = 7;
  hs.vote = 3;
  hs.commit = 99;
  EXPECT_EQ(*decode_hard_state(encode_hard_state(hs)), hs);
  for (const raft::Entry& e : {entry(1, 1, ""), entry(5, 2, std::string("\0\xff\x01", 3)),
                               entry(9, 3, "cc", raft::EntryType::kConfChange)}) {
    EXPECT_EQ(*decode_entry(encode_entry(e)), e);
  }
  SnapshotMarker s{100, 4};
  EXPECT_EQ(encode_snapshot_marker(s).size(), 16u);  // as every earlier log wrote it
  EXPECT_EQ(*decode_snapshot_marker(encode_snapshot_marker(s)), s);
  SnapshotMarker leaders{100, 4, true};
  EXPECT_EQ(*decode_snapshot_marker(encode_snapshot_marker(leaders)), leaders);
}

TEST(Record, BadPayloadsAreCorruption) {
  EXPECT_TRUE(decode_metadata("short").status().is_corruption());
  EXPECT_TRUE(decode_hard_state(std::string(23, 'x')).status().is_corruption());
  EXPECT_TRUE(decode_entry(std::string(16, 'x')).status().is_corruption());
  EXPECT_TRUE(decode_snapshot_marker(std::string(16, 'x') + '\x02').status().is_corruption());
  EXPECT_TRUE(decode_snapshot_marker(std::string(18, 'x')).status().is_corruption());
  std::string bad_type = encode_entry(entry(1, 1, "x"));
  bad_type[16] = 9;
  EXPECT_THAT(decode_entry(bad_type).status().message(), ::testing::HasSubstr("unknown type 9"));
}

TEST(Record, FramesReadBack) {
  std::string seg;
  append_record(RecordType::kEntry, encode_entry(entry(1, 1, "a")), &seg);
  append_record(RecordType::kHardState, std::string(24, '\x01'), &seg);
  size_t first_size = kRecordHeaderSize + 18;
  RecordRead r = read_record(seg, 0);
  ASSERT_EQ(r.kind, RecordRead::Kind::kRecord);
  EXPECT_EQ(r.type, RecordType::kEntry);
  EXPECT_EQ(r.size, first_size);
  r = read_record(seg, first_size);
  ASSERT_EQ(r.kind, RecordRead::Kind::kRecord);
  EXPECT_EQ(r.type, RecordType::kHardState);
  EXPECT_EQ(read_record(seg, seg.size()).kind, RecordRead::Kind::kEnd);
  seg.append(4096, '\0');  // preallocated space
  EXPECT_EQ(read_record(seg, first_size + r.size).kind, RecordRead::Kind::kEnd);
}

TEST(Record, EveryTruncationOfARecordIsTorn) {
  std::string one;
  append_record(RecordType::kEntry, encode_entry(entry(3, 1, std::string(700, 'v'))), &one);
  for (size_t cut = 1; cut < one.size(); ++cut) {
    RecordRead r = read_record(std::string_view(one).substr(0, cut), 0);
    ASSERT_EQ(r.kind, RecordRead::Kind::kBad) << cut;
    EXPECT_TRUE(r.torn) << cut;
  }
}

TEST(Record, AnUnwrittenSectorIsTornAFlippedBitIsNot) {
  std::string seg;
  append_record(RecordType::kEntry, encode_entry(entry(3, 1, std::string(2000, 'v'))), &seg);
  seg.resize(4096, '\0');
  std::string torn = seg;
  std::fill(torn.begin() + 1024, torn.end(), '\0');  // sectors 2.. never reached the disk
  RecordRead r = read_record(torn, 0);
  ASSERT_EQ(r.kind, RecordRead::Kind::kBad);
  EXPECT_EQ(r.reason, "payload checksum mismatch");
  EXPECT_TRUE(r.torn);

  for (size_t bit : {5u * 8, 9u * 8 + 3, 600u * 8 + 1, 2012u * 8 + 7}) {
    std::string flipped = seg;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    RecordRead f = read_record(flipped, 0);
    ASSERT_EQ(f.kind, RecordRead::Kind::kBad) << bit;
    EXPECT_FALSE(f.torn) << bit << " " << f.reason;
  }
}

TEST(Record, DamagedHeadersAreRefused) {
  std::string seg;
  append_record(RecordType::kEntry, encode_entry(entry(3, 1, "x")), &seg);
  std::string bad_len = seg;
  bad_len[6] = '\x7f';  // length now huge, header CRC no longer matches
  RecordRead r = read_record(bad_len, 0);
  ASSERT_EQ(r.kind, RecordRead::Kind::kBad);
  EXPECT_EQ(r.reason, "header checksum mismatch");
  EXPECT_FALSE(r.torn);
}

}  // namespace
}  // namespace keel::wal
