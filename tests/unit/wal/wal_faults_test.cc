// The WAL under injected faults: lost unsynced data, failed writes and syncs, and group commit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <random>
#include <thread>

#include "temp_dir.h"
#include "wal/fault_injection_file_system.h"
#include "wal/wal.h"
#include "wal_test_util.h"

namespace keel::wal {
namespace {

using ::testing::HasSubstr;

class WalFaultsTest : public ::testing::Test {
 protected:
  TempDir tmp_;
  FaultInjectionFileSystem fs_{posix_file_system()};
  std::string dir_ = tmp_.path() + "/wal";
  WalOptions options_ = [] {
    WalOptions o;
    o.segment_bytes = 8192;
    return o;
  }();

  WalContents reopen() {
    WalContents c;
    Result<std::unique_ptr<Wal>> w = Wal::open(fs_, dir_, options_, &c);
    EXPECT_TRUE(w.ok()) << w.status().to_string();
    return c;
  }
};

TEST_F(WalFaultsTest, ACrashLosesOnlyWhatWasNotSynced) {
  std::mt19937_64 rng(99);
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  uint64_t acknowledged = 0;
  for (uint64_t i = 1; i <= 300; ++i) {
    bool sync = rng() % 3 == 0;
    ASSERT_TRUE(wal->save(hard_state(1, 1, i), {make_entry(i, 1, 60)}, sync).ok());
    if (sync) acknowledged = i;
  }
  ASSERT_GT(wal->segment_names().size(), 3u);  // the crash also spans segment cuts
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  WalContents c = reopen();
  // Every acknowledged entry is back, in order; what follows it came from syncs of later saves.
  ASSERT_GE(c.entries.size(), acknowledged);
  EXPECT_EQ(c.entries, make_entries(1, c.entries.size(), 1, 60));
  EXPECT_GE(c.hard_state.commit, acknowledged);
}

TEST_F(WalFaultsTest, ACrashRightAfterASyncedSaveKeepsIt) {
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  ASSERT_TRUE(wal->save(hard_state(1, 1, 0), make_entries(1, 5, 1), true).ok());
  ASSERT_TRUE(wal->save(hard_state(1, 1, 5), make_entries(6, 9, 1), false).ok());
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  WalContents c = reopen();
  EXPECT_EQ(c.entries, make_entries(1, 5, 1));
  EXPECT_EQ(c.hard_state, hard_state(1, 1, 0));
}

TEST_F(WalFaultsTest, AFailedWriteIsNotAcknowledgedAndStopsTheLog) {
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  ASSERT_TRUE(wal->save({}, make_entries(1, 3, 1), true).ok());
  fs_.fail_next_write();
  Status s = wal->save({}, make_entries(4, 6, 1), true);
  EXPECT_TRUE(s.is_io_error());
  EXPECT_THAT(s.message(), HasSubstr("injected failure"));
  // Stopped for good: later saves fail with the first error, even though writes work again.
  EXPECT_EQ(wal->save({}, make_entries(4, 6, 1), true), wal->failure());
  EXPECT_FALSE(wal->failure().ok());
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  EXPECT_EQ(reopen().entries, make_entries(1, 3, 1));
}

TEST_F(WalFaultsTest, AFailedSyncIsNeverRetried) {
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  ASSERT_TRUE(wal->save({}, make_entries(1, 3, 1), true).ok());
  int syncs = fs_.syncs();
  fs_.fail_next_sync();
  Status s = wal->save({}, make_entries(4, 6, 1), true);
  EXPECT_TRUE(s.is_io_error());
  EXPECT_THAT(s.message(), HasSubstr("WAL stopped: fdatasync"));
  EXPECT_TRUE(wal->save({}, make_entries(7, 7, 1), true).is_io_error());
  EXPECT_TRUE(wal->save_snapshot_marker(SnapshotMarker{3, 1}).is_io_error());
  EXPECT_EQ(fs_.syncs(), syncs);  // no sync was tried again after the failure
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  EXPECT_EQ(reopen().entries, make_entries(1, 3, 1));
}

TEST_F(WalFaultsTest, AFailedSegmentCutStopsTheLog) {
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  uint64_t i = 1;
  size_t segments = wal->segment_names().size();
  // Fill the segment until the next save must cut; make the new segment's rename fail.
  while (wal->segment_names().size() == segments) {
    if (i > 5 && i % 10 == 0) fs_.fail_next_rename();
    Status s = wal->save({}, {make_entry(i, 1, 200)}, true);
    if (!s.ok()) {
      EXPECT_THAT(s.message(), HasSubstr("injected failure"));
      break;
    }
    ++i;
  }
  EXPECT_FALSE(wal->failure().ok());
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  EXPECT_EQ(reopen().entries, make_entries(1, i - 1, 1, 200));
}

// Syncs wait at a gate, so a test can hold one sync open while more saves arrive: those must
// share the next sync (group commit) rather than take one each.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = true;
  int appends = 0;
  int syncs = 0;
};

class GateFile : public WritableFile {
 public:
  GateFile(std::unique_ptr<WritableFile> base, Gate& gate) : base_(std::move(base)), gate_(gate) {}
  Status append(std::string_view d) override {
    Status s = base_->append(d);
    std::lock_guard<std::mutex> lock(gate_.mu);
    ++gate_.appends;
    gate_.cv.notify_all();
    return s;
  }
  Status sync() override {
    std::unique_lock<std::mutex> lock(gate_.mu);
    gate_.cv.wait(lock, [&] { return gate_.open; });
    ++gate_.syncs;
    return base_->sync();
  }
  uint64_t offset() const override { return base_->offset(); }
  Status close() override { return base_->close(); }

 private:
  std::unique_ptr<WritableFile> base_;
  Gate& gate_;
};

class GateFileSystem : public FaultInjectionFileSystem {
 public:
  GateFileSystem(FileSystem& base, Gate& gate) : FaultInjectionFileSystem(base), gate_(gate) {}
  Result<std::unique_ptr<WritableFile>> create(const std::string& p, uint64_t n) override {
    Result<std::unique_ptr<WritableFile>> f = FaultInjectionFileSystem::create(p, n);
    if (!f.ok()) return f;
    return std::unique_ptr<WritableFile>(new GateFile(std::move(f).value(), gate_));
  }

 private:
  Gate& gate_;
};

TEST_F(WalFaultsTest, SavesArrivingDuringASyncShareTheNext) {
  Gate gate;
  GateFileSystem fs(posix_file_system(), gate);
  options_.segment_bytes = 1 << 20;
  auto wal = std::move(Wal::create(fs, dir_, WalMetadata{1, 2}, options_)).value();
  int appends_before, syncs_before;
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = false;
    appends_before = gate.appends;
    syncs_before = gate.syncs;
  }
  constexpr int kLate = 6;
  std::thread first([&] { EXPECT_TRUE(wal->save({}, {make_entry(1, 1)}, true).ok()); });
  {
    std::unique_lock<std::mutex> lock(gate.mu);  // the first save is written and its sync held
    gate.cv.wait(lock, [&] { return gate.appends == appends_before + 1; });
  }
  std::mutex order;  // entries reach the WAL in index order, as Raft hands them over
  uint64_t next = 2;
  std::vector<std::thread> late;
  for (int i = 0; i < kLate; ++i) {
    late.emplace_back([&] {
      std::unique_lock<std::mutex> lock(order);
      raft::Entry e = make_entry(next++, 1);
      lock.unlock();
      EXPECT_TRUE(wal->save({}, {e}, true).ok());
    });
    // One at a time, so their indexes are written in order.
    std::unique_lock<std::mutex> lock(gate.mu);
    gate.cv.wait(lock, [&] { return gate.appends == appends_before + 2 + i; });
  }
  {
    std::lock_guard<std::mutex> lock(gate.mu);
    gate.open = true;
  }
  gate.cv.notify_all();
  first.join();
  for (auto& t : late) t.join();
  // One sync for the first save, one shared by all six that arrived while it ran.
  EXPECT_EQ(gate.syncs - syncs_before, 2);
  wal.reset();
  WalContents c;
  ASSERT_TRUE(Wal::open(fs, dir_, options_, &c).ok());
  EXPECT_EQ(c.entries, make_entries(1, 1 + kLate, 1));
}

TEST_F(WalFaultsTest, ManyConcurrentWritersEachGetTheirEntriesDurable) {
  options_.segment_bytes = 64 << 10;
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  std::mutex order_mu;  // Raft gives the WAL entries in index order; the writers take turns for that
  uint64_t next = 1;
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (int n = 0; n < 50; ++n) {
        std::unique_lock<std::mutex> lock(order_mu);
        raft::Entry e = make_entry(next++, 1);
        // Write in order, then wait for durability without holding the order lock.
        Status s = wal->save({}, {e}, false);
        lock.unlock();
        ASSERT_TRUE(s.ok());
        ASSERT_TRUE(wal->sync().ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  wal.reset();
  ASSERT_TRUE(fs_.drop_unsynced_data().ok());
  EXPECT_EQ(reopen().entries, make_entries(1, 400, 1));
}

}  // namespace
}  // namespace keel::wal

namespace keel::wal {
namespace {

// A crash that keeps some later sectors of an unsynced write and loses earlier ones: the log
// either opens with every acknowledged entry and goes on cleanly (nothing of the old write can
// come back after new appends), or refuses to start, naming the damage — never less.
TEST_F(WalFaultsTest, ACrashThatKeepsRandomUnsyncedSectorsNeverLosesAnAcknowledgedEntry) {
  int opened = 0, refused = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    TempDir tmp;
    const std::string dir = tmp.path() + "/wal";
    std::mt19937_64 rng(seed);
    uint64_t acknowledged = 0, next = 1;
    {
      auto wal = std::move(Wal::create(fs_, dir, WalMetadata{1, 2}, options_)).value();
      for (int i = 0; i < 60; ++i, ++next) {
        bool sync = rng() % 4 == 0;
        ASSERT_TRUE(wal->save({}, {make_entry(next, 1, 100 + rng() % 900)}, sync).ok());
        if (sync) acknowledged = next;
      }
    }
    ASSERT_TRUE(fs_.drop_unsynced_data(seed).ok());
    WalContents c;
    Result<std::unique_ptr<Wal>> w = Wal::open(fs_, dir, options_, &c);
    if (!w.ok()) {
      EXPECT_TRUE(w.status().is_corruption()) << seed << ": " << w.status().to_string();
      EXPECT_THAT(w.status().message(), HasSubstr(dir)) << seed;
      ++refused;
      continue;
    }
    ++opened;
    ASSERT_GE(c.entries.size(), acknowledged) << seed;
    for (size_t i = 0; i < c.entries.size(); ++i) ASSERT_EQ(c.entries[i].index, i + 1) << seed;
    uint64_t resume = c.entries.size() + 1;
    ASSERT_TRUE((*w)->save({}, make_entries(resume, resume + 2, 2), true).ok());
    w->reset();
    WalContents again;
    Result<std::unique_ptr<Wal>> w2 = Wal::open(fs_, dir, options_, &again);
    ASSERT_TRUE(w2.ok()) << seed << ": " << w2.status().to_string();
    ASSERT_EQ(again.entries.size(), resume + 2) << seed;
    EXPECT_EQ(again.entries.back(), make_entry(resume + 2, 2)) << seed;
  }
  std::printf("%d crashes opened, %d refused\n", opened, refused);
  EXPECT_GT(opened, 0);
}

TEST_F(WalFaultsTest, AnEntryOverTheRecordLimitIsRefusedAndTheLogGoesOn) {
  auto wal = std::move(Wal::create(fs_, dir_, WalMetadata{1, 2}, options_)).value();
  raft::Entry huge = make_entry(1, 1);
  huge.data.assign(kMaxRecordPayload, 'h');
  Status s = wal->save({}, {huge}, true);
  EXPECT_TRUE(s.is_invalid_argument());
  EXPECT_TRUE(wal->failure().ok());
  ASSERT_TRUE(wal->save({}, {make_entry(1, 1)}, true).ok());
  wal.reset();
  EXPECT_EQ(reopen().entries, make_entries(1, 1, 1));
}

TEST_F(WalFaultsTest, ACreationACrashInterruptedIsStartedAgain) {
  ASSERT_TRUE(fs_.create_dirs(dir_).ok());
  auto leftover = std::move(fs_.create(dir_ + "/0000000000000000-0000000000000001.wal.tmp", 4096)).value();
  leftover->close();
  Result<std::unique_ptr<Wal>> wal = Wal::create(fs_, dir_, WalMetadata{1, 2}, options_);
  ASSERT_TRUE(wal.ok()) << wal.status().to_string();
}

}  // namespace
}  // namespace keel::wal
