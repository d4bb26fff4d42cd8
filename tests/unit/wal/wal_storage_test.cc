// WalStorage: Raft's log on disk, read back after restarts — driven by hand and by a real
// single-member RawNode.
#include "wal/wal_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "raft/random.h"
#include "raft/raw_node.h"
#include "temp_dir.h"
#include "wal_test_util.h"

namespace keel::wal {
namespace {

using ::testing::HasSubstr;

class EmptySource : public ByteSource {
 public:
  Result<size_t> read(char*, size_t) override { return size_t{0}; }
};

raft::SnapshotMetadata snap_meta(uint64_t index, uint64_t term) {
  raft::SnapshotMetadata m;
  m.index = index;
  m.term = term;
  m.conf_state.voters = {1, 2, 3};
  return m;
}

class WalStorageTest : public ::testing::Test {
 protected:
  FileSystem& fs_ = posix_file_system();
  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/member";
  WalMetadata meta_{5, 77};
  WalOptions options_ = [] {
    WalOptions o;
    o.segment_bytes = 16 << 10;
    return o;
  }();

  std::unique_ptr<WalStorage> open(WalMetadata m) {
    Result<std::unique_ptr<WalStorage>> s = WalStorage::open(fs_, dir_, m, options_);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  void write_snapshot(const raft::SnapshotMetadata& m) {
    EmptySource none;
    ASSERT_TRUE(write_snapshot_file(fs_, dir_ + "/snap", m, "lmdb", none).ok());
  }
};

TEST_F(WalStorageTest, PersistedEntriesAreReadBackAfterARestart) {
  auto s = open(meta_);
  EXPECT_TRUE(s->created());
  ASSERT_TRUE(s->persist(hard_state(2, 1, 3), make_entries(1, 5, 2), true).ok());
  EXPECT_EQ(*s->first_index(), 1u);
  EXPECT_EQ(*s->last_index(), 5u);
  s.reset();

  s = open(WalMetadata{});  // ids left unset: whatever the log says
  EXPECT_FALSE(s->created());
  EXPECT_EQ(s->metadata(), meta_);
  EXPECT_EQ(*s->first_index(), 1u);
  EXPECT_EQ(*s->last_index(), 5u);
  EXPECT_EQ(*s->term(4), 2u);
  EXPECT_EQ(*s->entries(2, 5, UINT64_MAX), make_entries(2, 4, 2));
  EXPECT_EQ(s->initial_state()->hard_state, hard_state(2, 1, 3));
  EXPECT_FALSE(s->recovered_snapshot().has_value());
}

TEST_F(WalStorageTest, RefusesAnotherMembersOrClustersData) {
  open(meta_);
  Result<std::unique_ptr<WalStorage>> other = WalStorage::open(fs_, dir_, WalMetadata{6, 77}, options_);
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(other.status().is_failed_precondition());
  EXPECT_THAT(other.status().message(), HasSubstr("belongs to member 5, not 6"));
  other = WalStorage::open(fs_, dir_, WalMetadata{5, 78}, options_);
  EXPECT_THAT(other.status().message(), HasSubstr("belongs to cluster 77, not 78"));
}

TEST_F(WalStorageTest, ALocalSnapshotCompactsTheLogAndIsWhereARestartBegins) {
  auto s = open(meta_);
  for (uint64_t i = 1; i <= 300; i += 10) {
    ASSERT_TRUE(s->persist(hard_state(1, 1, i + 9), make_entries(i, i + 9, 1, 100), true).ok());
  }
  write_snapshot(snap_meta(250, 1));
  ASSERT_TRUE(s->record_local_snapshot(snap_meta(250, 1), "state").ok());
  ASSERT_TRUE(s->compact(240, 2, 1).ok());
  EXPECT_EQ(*s->first_index(), 241u);  // entries past the compaction point stay for slow followers
  EXPECT_TRUE(s->compact(260, 2, 1).is_invalid_argument());  // past the snapshot
  s.reset();

  s = open(meta_);
  ASSERT_TRUE(s->recovered_snapshot().has_value());
  EXPECT_EQ(s->recovered_snapshot()->metadata, snap_meta(250, 1));
  EXPECT_EQ(s->snapshot()->metadata, snap_meta(250, 1));
  EXPECT_EQ(s->initial_state()->conf_state, snap_meta(250, 1).conf_state);
  EXPECT_EQ(*s->first_index(), 251u);
  EXPECT_EQ(*s->last_index(), 300u);
  EXPECT_EQ(*s->entries(251, 301, UINT64_MAX), make_entries(251, 300, 1, 100));
}

TEST_F(WalStorageTest, ASnapshotFromTheLeaderReplacesTheLog) {
  auto s = open(meta_);
  ASSERT_TRUE(s->persist(hard_state(1, 1, 10), make_entries(1, 10, 1), true).ok());
  write_snapshot(snap_meta(200, 3));
  raft::Snapshot snap;
  snap.metadata = snap_meta(200, 3);
  ASSERT_TRUE(s->save_snapshot(snap).ok());
  ASSERT_TRUE(s->persist(hard_state(3, 1, 202), make_entries(201, 205, 3), true).ok());
  s.reset();
  s = open(meta_);
  EXPECT_EQ(*s->first_index(), 201u);
  EXPECT_EQ(*s->last_index(), 205u);
  EXPECT_EQ(*s->term(200), 3u);
}

TEST_F(WalStorageTest, ALogTailALeadersSnapshotReplacedDoesNotComeBackAfterARestart) {
  // A follower wrote entries 1..10 of term 1; the leader of term 3 holds a different entry at 5
  // and sends a snapshot at 5, which replaces the whole log (Raft's restore). Entries 6..10 of
  // term 1 were never the cluster's: replaying them would hand Raft a log no leader has.
  auto s = open(meta_);
  ASSERT_TRUE(s->persist(hard_state(1, 1, 4), make_entries(1, 10, 1), true).ok());
  write_snapshot(snap_meta(5, 3));
  raft::Snapshot snap;
  snap.metadata = snap_meta(5, 3);
  ASSERT_TRUE(s->save_snapshot(snap).ok());
  ASSERT_TRUE(s->persist(hard_state(3, 1, 5), {}, true).ok());
  EXPECT_EQ(*s->last_index(), 5u);
  s.reset();

  s = open(meta_);
  EXPECT_EQ(s->snapshot()->metadata, snap_meta(5, 3));
  EXPECT_EQ(*s->first_index(), 6u);
  EXPECT_EQ(*s->last_index(), 5u);  // nothing after the snapshot
  EXPECT_FALSE(s->term(6).ok());

  // A member's own snapshot keeps what follows it: the entries after its index are its log.
  ASSERT_TRUE(s->persist(hard_state(3, 1, 9), make_entries(6, 9, 3), true).ok());
  write_snapshot(snap_meta(7, 3));
  ASSERT_TRUE(s->record_local_snapshot(snap_meta(7, 3), "").ok());
  s.reset();
  s = open(meta_);
  EXPECT_EQ(*s->last_index(), 9u);
  EXPECT_EQ(*s->entries(8, 10, UINT64_MAX), make_entries(8, 9, 3));
}

TEST_F(WalStorageTest, ASnapshotFileWhoseMarkerNeverReachedTheLogIsPassedOver) {
  auto s = open(meta_);
  ASSERT_TRUE(s->persist(hard_state(1, 1, 50), make_entries(1, 50, 1), true).ok());
  write_snapshot(snap_meta(20, 1));
  ASSERT_TRUE(s->record_local_snapshot(snap_meta(20, 1), "").ok());
  write_snapshot(snap_meta(40, 1));  // a crash before its marker
  s.reset();
  s = open(meta_);
  EXPECT_EQ(s->recovered_snapshot()->metadata.index, 20u);
}

TEST_F(WalStorageTest, AMarkedSnapshotThatIsGoneOrDamagedIsRefused) {
  auto s = open(meta_);
  ASSERT_TRUE(s->persist(hard_state(1, 1, 50), make_entries(1, 50, 1), true).ok());
  write_snapshot(snap_meta(30, 1));
  ASSERT_TRUE(s->record_local_snapshot(snap_meta(30, 1), "").ok());
  s.reset();
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/snap")) std::filesystem::remove(e.path());
  Result<std::unique_ptr<WalStorage>> again = WalStorage::open(fs_, dir_, meta_, options_);
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().is_corruption());
  EXPECT_THAT(again.status().message(), HasSubstr("continues from a snapshot at index 30"));
}

TEST_F(WalStorageTest, ACrashBeforeBootstrapFinishedIsBootstrappedAgain) {
  {
    auto s = open(meta_);
    EXPECT_TRUE(s->needs_bootstrap());
    // The process dies here, before bootstrap().
  }
  auto s = open(meta_);
  EXPECT_FALSE(s->created());
  EXPECT_TRUE(s->needs_bootstrap());
  raft::ConfState cs;
  cs.voters = {1};
  ASSERT_TRUE(s->bootstrap(cs).ok());
  EXPECT_FALSE(s->needs_bootstrap());
  EXPECT_TRUE(s->bootstrap(cs).is_failed_precondition());
  s.reset();
  s = open(meta_);
  EXPECT_FALSE(s->needs_bootstrap());
  EXPECT_EQ(s->initial_state()->conf_state.voters, std::vector<uint64_t>{1});
}

TEST_F(WalStorageTest, PurgingSnapshotsKeepsTheMarkedOneAndOrphansGoAtOpen) {
  auto s = open(meta_);
  ASSERT_TRUE(s->persist(hard_state(1, 1, 100), make_entries(1, 100, 1), true).ok());
  write_snapshot(snap_meta(50, 1));
  ASSERT_TRUE(s->record_local_snapshot(snap_meta(50, 1), "").ok());
  write_snapshot(snap_meta(60, 1));  // a crash before its marker
  s.reset();
  s = open(meta_);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ + "/snap"), {}), 1);  // the orphan went
  write_snapshot(snap_meta(70, 1));  // being written, not marked yet
  ASSERT_TRUE(s->compact(50, 5, 1).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/snap/0000000000000001-0000000000000032.snap"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/snap/0000000000000001-0000000000000046.snap"));
  s.reset();
  s = open(meta_);
  EXPECT_EQ(s->recovered_snapshot()->metadata.index, 50u);
}

// A single-member Raft group whose every Ready goes through WalStorage, restarted from disk.
TEST_F(WalStorageTest, ARaftMemberComesBackToExactlyWhatItsLogSays) {
  std::vector<std::string> applied;
  auto run = [&](WalStorage& storage, uint64_t applied_index, int proposals) {
    raft::SplitMix64 random(1);
    raft::Config config;
    config.id = 1;
    config.storage = &storage;
    config.random = &random;
    config.applied = applied_index;
    auto node = std::move(raft::RawNode::Create(config)).value();
    node->campaign();
    int proposed = 0;
    for (int round = 0; round < 1000; ++round) {
      if (node->status().soft_state.role == raft::Role::kLeader && proposed < proposals) {
        ASSERT_TRUE(node->propose("cmd " + std::to_string(applied.size() + proposed)).ok());
        ++proposed;
      }
      if (!node->has_ready()) {
        if (proposed == proposals) break;
        node->tick();
        continue;
      }
      raft::Ready rd = node->ready();
      ASSERT_TRUE(storage.persist(rd.hard_state.value_or(raft::HardState{}), rd.entries, rd.must_sync).ok());
      for (const auto& e : rd.committed_entries) {
        if (e.type == raft::EntryType::kNormal && !e.data.empty()) applied.push_back(e.data);
      }
      node->advance();
    }
  };

  {
    auto s = open(meta_);
    raft::ConfState cs;
    cs.voters = {1};
    ASSERT_TRUE(s->bootstrap(cs).ok());
    run(*s, 1, 20);
  }
  ASSERT_EQ(applied.size(), 20u);
  std::vector<std::string> before = applied;
  applied.clear();
  {
    // Restarted with nothing applied: Raft hands out every committed entry again, from the log.
    auto s = open(meta_);
    ASSERT_TRUE(s->recovered_snapshot().has_value());
    EXPECT_EQ(s->recovered_snapshot()->metadata.conf_state.voters, std::vector<uint64_t>{1});
    run(*s, 1, 5);
  }
  ASSERT_EQ(applied.size(), 25u);
  EXPECT_EQ(std::vector<std::string>(applied.begin(), applied.begin() + 20), before);
}

}  // namespace
}  // namespace keel::wal
