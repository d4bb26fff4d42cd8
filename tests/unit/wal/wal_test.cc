// The WAL on a real file system: round trips across segments and restarts, overwritten tails,
// torn tails cut at every offset, damage refused with its place named, purging.
#include "wal/wal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "temp_dir.h"
#include "wal_test_util.h"

namespace keel::wal {
namespace {

using ::testing::HasSubstr;

class CapturingLogger : public Logger {
 public:
  void log(LogLevel, std::string_view m) override { lines.emplace_back(m); }
  std::vector<std::string> lines;
};

class WalTest : public ::testing::Test {
 protected:
  FileSystem& fs_ = posix_file_system();
  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/wal";
  WalMetadata meta_{11, 22};
  WalOptions options_ = small_segments();

  static WalOptions small_segments() {
    WalOptions o;
    o.segment_bytes = 64 << 10;  // the tests rewrite whole segments
    return o;
  }

  std::unique_ptr<Wal> create() {
    Result<std::unique_ptr<Wal>> w = Wal::create(fs_, dir_, meta_, options_);
    EXPECT_TRUE(w.ok()) << w.status().to_string();
    return w.ok() ? std::move(w).value() : nullptr;
  }
  Result<std::unique_ptr<Wal>> open(WalContents* c) { return Wal::open(fs_, dir_, options_, c); }
  WalContents reopen() {
    WalContents c;
    Result<std::unique_ptr<Wal>> w = open(&c);
    EXPECT_TRUE(w.ok()) << w.status().to_string();
    return c;
  }
  std::string last_segment_path() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().string());
    std::sort(names.begin(), names.end());
    return names.back();
  }
};

TEST_F(WalTest, RoundTripsEntriesHardStateAndMetadata) {
  auto wal = create();
  ASSERT_TRUE(wal->save(hard_state(1, 1, 0), make_entries(1, 3, 1), true).ok());
  ASSERT_TRUE(wal->save(hard_state(2, 2, 3), make_entries(4, 5, 2), true).ok());
  wal.reset();
  WalContents c = reopen();
  EXPECT_EQ(c.metadata, meta_);
  EXPECT_EQ(c.hard_state, hard_state(2, 2, 3));
  std::vector<raft::Entry> want = make_entries(1, 3, 1);
  for (auto& e : make_entries(4, 5, 2)) want.push_back(e);
  EXPECT_EQ(c.entries, want);
  EXPECT_FALSE(c.torn_tail_cut);
}

TEST_F(WalTest, DataDirIsPrivateAndSegmentsArePreallocated) {
  options_.segment_bytes = 1 << 20;
  auto wal = create();
  auto perms = std::filesystem::status(dir_).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_all);
  EXPECT_EQ(std::filesystem::file_size(last_segment_path()), 1u << 20);
  EXPECT_THAT(wal->segment_names(), ::testing::ElementsAre("0000000000000000-0000000000000001.wal"));
}

TEST_F(WalTest, SpansSegmentsAndRestarts) {
  options_.segment_bytes = 4096;
  uint64_t next = 1;
  for (int restart = 0; restart < 4; ++restart) {
    std::unique_ptr<Wal> wal;
    if (restart == 0) {
      wal = create();
    } else {
      WalContents c;
      Result<std::unique_ptr<Wal>> w = open(&c);
      ASSERT_TRUE(w.ok()) << w.status().to_string();
      ASSERT_EQ(c.entries.size(), next - 1);
      wal = std::move(w).value();
    }
    for (int i = 0; i < 50; ++i, ++next) {
      ASSERT_TRUE(wal->save(hard_state(1, 1, next - 1), {make_entry(next, 1, 100)}, true).ok());
    }
  }
  WalContents c = reopen();
  ASSERT_EQ(c.entries, make_entries(1, next - 1, 1, 100));
  EXPECT_EQ(c.hard_state.commit, next - 2);
  // Cut segments are trimmed to what they hold; only the newest keeps its preallocation.
  size_t segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    ++segments;
    EXPECT_LE(e.file_size(), 4096u);
  }
  EXPECT_GT(segments, 5u);
}

TEST_F(WalTest, ALaterAppendOverwritesTheTail) {
  auto wal = create();
  ASSERT_TRUE(wal->save(hard_state(1, 1, 0), make_entries(1, 10, 1), true).ok());
  ASSERT_TRUE(wal->save(hard_state(2, 2, 0), make_entries(6, 8, 2), true).ok());
  wal.reset();
  WalContents c = reopen();
  std::vector<raft::Entry> want = make_entries(1, 5, 1);
  for (auto& e : make_entries(6, 8, 2)) want.push_back(e);
  EXPECT_EQ(c.entries, want);
}

TEST_F(WalTest, SnapshotMarkerDropsCoveredEntriesAndPurgeKeepsTheRest) {
  options_.segment_bytes = 4096;
  auto wal = create();
  for (uint64_t i = 1; i <= 200; ++i) ASSERT_TRUE(wal->save(hard_state(1, 1, i), {make_entry(i, 1, 100)}, true).ok());
  ASSERT_TRUE(wal->save_snapshot_marker(SnapshotMarker{150, 1}).ok());
  size_t before = wal->segment_names().size();
  ASSERT_TRUE(wal->purge(150, 2).ok());
  std::vector<std::string> after = wal->segment_names();
  EXPECT_LT(after.size(), before);
  EXPECT_GE(after.size(), 2u);
  wal.reset();
  WalContents c = reopen();
  EXPECT_EQ(c.snapshot, (SnapshotMarker{150, 1}));
  EXPECT_EQ(c.entries, make_entries(151, 200, 1, 100));
  EXPECT_EQ(c.hard_state.commit, 200u);
}

TEST_F(WalTest, PurgeKeepsSegmentsTheSnapshotDoesNotCover) {
  options_.segment_bytes = 4096;
  auto wal = create();
  for (uint64_t i = 1; i <= 200; ++i) ASSERT_TRUE(wal->save({}, {make_entry(i, 1, 100)}, true).ok());
  size_t before = wal->segment_names().size();
  ASSERT_TRUE(wal->purge(0, 1).ok());  // nothing is in a snapshot yet
  EXPECT_EQ(wal->segment_names().size(), before);
  ASSERT_TRUE(wal->purge(200, 0).ok());  // 0: keep everything, as etcd's --max-wals 0
  EXPECT_EQ(wal->segment_names().size(), before);
}

TEST_F(WalTest, TornTailCutAtEveryOffsetOfTheLastRecord) {
  auto wal = create();
  ASSERT_TRUE(wal->save(hard_state(1, 1, 0), make_entries(1, 4, 1), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), {});
  }
  // The segment holds its metadata record, four entries and the hard state, in that order.
  size_t used = (kRecordHeaderSize + 16) + 4 * (kRecordHeaderSize + 17 + 40) + (kRecordHeaderSize + 24);
  size_t last_record = used - (kRecordHeaderSize + 24);
  for (size_t cut = last_record; cut < used; ++cut) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(cut));
    CapturingLogger logger;
    options_.logger = &logger;
    WalContents c;
    Result<std::unique_ptr<Wal>> w = open(&c);
    ASSERT_TRUE(w.ok()) << cut << ": " << w.status().to_string();
    EXPECT_EQ(c.entries, make_entries(1, 4, 1)) << cut;
    EXPECT_EQ(c.hard_state, raft::HardState{}) << cut;  // the torn record is gone
    EXPECT_EQ(c.torn_tail_cut, cut > last_record) << cut;
    if (cut > last_record) {
      ASSERT_EQ(logger.lines.size(), 1u);
      EXPECT_THAT(logger.lines[0], HasSubstr("cut a torn last record at offset " + std::to_string(last_record)));
    }
    // The log goes on from there, and reads back whole.
    ASSERT_TRUE((*w)->save(hard_state(3, 3, 4), {make_entry(5, 3)}, true).ok());
    w->reset();
    WalContents again = reopen();
    EXPECT_EQ(again.entries.size(), 5u) << cut;
    EXPECT_EQ(again.hard_state, hard_state(3, 3, 4)) << cut;
    EXPECT_FALSE(again.torn_tail_cut) << cut;
  }
}

TEST_F(WalTest, UnwrittenSectorsInsideTheLastRecordsAreATornTail) {
  std::mt19937_64 rng(2026);
  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 20, 1, 900), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Record boundaries of the last three entries.
  size_t record = kRecordHeaderSize + 17 + 900;
  size_t used = content.find_last_not_of('\0') + 1;
  for (int trial = 0; trial < 30; ++trial) {
    // A crash that lost every sector from some sector boundary inside the last 3 records on.
    size_t lo = used - 3 * record;
    size_t at = lo + rng() % (used - lo);
    at = (at + 511) / 512 * 512;
    if (at >= used) continue;
    std::string damaged = content;
    std::fill(damaged.begin() + static_cast<std::ptrdiff_t>(at), damaged.end(), '\0');
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
    WalContents c;
    Result<std::unique_ptr<Wal>> w = open(&c);
    ASSERT_TRUE(w.ok()) << at << ": " << w.status().to_string();
    // Exactly the records that ended before the lost sectors remain.
    size_t head = used - 20 * record;
    size_t whole = (at - head) / record;
    EXPECT_EQ(c.entries, make_entries(1, whole, 1, 900)) << at;
  }
}

TEST_F(WalTest, ACutAtAnyOffsetInsideTheLastRecordsKeepsTheWholeOnesBefore) {
  std::mt19937_64 rng(7);
  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 20, 1, 300), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t record = kRecordHeaderSize + 17 + 300;
  size_t used = content.find_last_not_of('\0') + 1;
  size_t head = used - 20 * record;
  for (int trial = 0; trial < 60; ++trial) {
    size_t cut = used - 3 * record + rng() % (3 * record);
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(cut));
    WalContents c;
    Result<std::unique_ptr<Wal>> w = open(&c);
    ASSERT_TRUE(w.ok()) << cut << ": " << w.status().to_string();
    EXPECT_EQ(c.entries, make_entries(1, (cut - head) / record, 1, 300)) << cut;
  }
}

TEST_F(WalTest, AFlippedBitBeforeTheTailIsRefusedNamingFileAndOffset) {
  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 10, 1, 100), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content;
  {
    std::ifstream in(path, std::ios::binary);
    content.assign(std::istreambuf_iterator<char>(in), {});
  }
  size_t record = kRecordHeaderSize + 17 + 100;
  size_t head = content.find_last_not_of('\0') + 1 - 10 * record;
  for (size_t victim : {0u, 4u, 9u}) {  // entries 1, 5 and 10 (the last record too: it was acknowledged)
    for (size_t within : {size_t{2}, size_t{6}, kRecordHeaderSize + 3, record - 1}) {
      std::string damaged = content;
      size_t at = head + victim * record + within;
      damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
      std::ofstream(path, std::ios::binary | std::ios::trunc).write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
      WalContents c;
      Result<std::unique_ptr<Wal>> w = open(&c);
      ASSERT_FALSE(w.ok()) << victim << "/" << within;
      EXPECT_TRUE(w.status().is_corruption());
      EXPECT_THAT(w.status().message(), HasSubstr("WAL file " + path + " is damaged at offset " +
                                                  std::to_string(head + victim * record)));
      EXPECT_THAT(w.status().message(), HasSubstr("(record " + std::to_string(victim + 2) + ")"));
    }
  }
}

TEST_F(WalTest, LeftoversPastTheEndOfTheLogAreClearedSoTheyCannotComeBack) {
  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 3, 1, 100), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  size_t end = (kRecordHeaderSize + 16) + 3 * (kRecordHeaderSize + 17 + 100);
  // A crash left an unwritten sector, then part of a later write (no whole record in it).
  std::string junk = "not a record: half of a write whose start never reached the disk";
  std::copy(junk.begin(), junk.end(), content.begin() + static_cast<std::ptrdiff_t>(end + 700));
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
  CapturingLogger logger;
  options_.logger = &logger;
  WalContents c;
  Result<std::unique_ptr<Wal>> w = open(&c);
  ASSERT_TRUE(w.ok()) << w.status().to_string();
  EXPECT_EQ(c.entries, make_entries(1, 3, 1, 100));
  ASSERT_EQ(logger.lines.size(), 1u);
  EXPECT_THAT(logger.lines[0], HasSubstr("cleared the unacknowledged bytes after offset " + std::to_string(end)));
  // New appends shorter than the gap, then a restart: the old bytes are gone, not replayed.
  ASSERT_TRUE((*w)->save({}, make_entries(4, 5, 2, 10), true).ok());
  w->reset();
  WalContents again = reopen();
  std::vector<raft::Entry> want = make_entries(1, 3, 1, 100);
  for (auto& e : make_entries(4, 5, 2, 10)) want.push_back(e);
  EXPECT_EQ(again.entries, want);
}

TEST_F(WalTest, AGapBeforeWholeRecordsIsRefusedNotCut) {
  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 8, 1, 600), true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  size_t record = kRecordHeaderSize + 17 + 600;
  size_t head = kRecordHeaderSize + 16;
  // Entry 3 loses a whole sector (zeros), entries 4..8 are intact after it.
  size_t sector = ((head + 2 * record) / 512 + 1) * 512;
  std::fill(content.begin() + static_cast<std::ptrdiff_t>(sector), content.begin() + static_cast<std::ptrdiff_t>(sector + 512), '\0');
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
  WalContents c;
  Result<std::unique_ptr<Wal>> w = open(&c);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().is_corruption());
  EXPECT_THAT(w.status().message(), HasSubstr("whole records follow it"));
}

TEST_F(WalTest, AFlippedBitInARecordOfZerosIsStillDamage) {
  // A payload of zeros holds whole zero sectors, the mark of a torn write; the records after it
  // show it was not the end of the log.
  auto wal = create();
  std::vector<raft::Entry> entries;
  for (uint64_t i = 1; i <= 4; ++i) {
    raft::Entry e = make_entry(i, 1);
    e.data.assign(2000, '\0');
    entries.push_back(e);
  }
  ASSERT_TRUE(wal->save({}, entries, true).ok());
  wal.reset();
  const std::string path = last_segment_path();
  std::string content = [&] {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  size_t second = (kRecordHeaderSize + 16) + (kRecordHeaderSize + 17 + 2000);
  content[second + kRecordHeaderSize + 1000] ^= 0x04;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
  WalContents c;
  Result<std::unique_ptr<Wal>> w = open(&c);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().is_corruption());
}

TEST_F(WalTest, PurgeNeverPassesTheNewestMarker) {
  options_.segment_bytes = 4096;
  auto wal = create();
  for (uint64_t i = 1; i <= 200; ++i) ASSERT_TRUE(wal->save({}, {make_entry(i, 1, 100)}, true).ok());
  ASSERT_TRUE(wal->save_snapshot_marker(SnapshotMarker{50, 1}).ok());
  ASSERT_TRUE(wal->purge(190, 1).ok());  // the caller is wrong: only 50 is in a snapshot
  wal.reset();
  WalContents c = reopen();
  EXPECT_EQ(c.entries, make_entries(51, 200, 1, 100));
}

TEST_F(WalTest, DamageInAnEarlierSegmentIsNeverATornTail) {
  options_.segment_bytes = 4096;
  auto wal = create();
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(wal->save({}, {make_entry(i, 1, 100)}, true).ok());
  std::string first = dir_ + "/" + wal->segment_names().front();
  wal.reset();
  // Cut the first segment short, as if its end were lost.
  std::filesystem::resize_file(first, std::filesystem::file_size(first) - 50);
  WalContents c;
  Result<std::unique_ptr<Wal>> w = open(&c);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("WAL file " + first + " is damaged at offset"));
}

TEST_F(WalTest, RefusesWhatIsNotItsLog) {
  WalContents c;
  Result<std::unique_ptr<Wal>> w = open(&c);
  EXPECT_TRUE(w.status().is_not_found());

  auto wal = create();
  ASSERT_TRUE(wal->save({}, make_entries(1, 3, 1), true).ok());
  wal.reset();
  Result<std::unique_ptr<Wal>> again = Wal::create(fs_, dir_, meta_, options_);
  EXPECT_TRUE(again.status().is_failed_precondition());

  // A missing segment in the middle.
  options_.segment_bytes = 4096;
  TempDir other;
  dir_ = other.path() + "/wal";
  wal = create();
  for (uint64_t i = 1; i <= 100; ++i) ASSERT_TRUE(wal->save({}, {make_entry(i, 1, 100)}, true).ok());
  std::vector<std::string> names = wal->segment_names();
  wal.reset();
  std::filesystem::remove(dir_ + "/" + names[1]);
  w = open(&c);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("is missing a segment between " + names[0] + " and " + names[2]));
}

TEST_F(WalTest, SavesAfterCloseAreRefused) {
  auto wal = create();
  ASSERT_TRUE(wal->close().ok());
  EXPECT_TRUE(wal->save({}, {make_entry(1, 1)}, true).is_failed_precondition());
}

}  // namespace
}  // namespace keel::wal
