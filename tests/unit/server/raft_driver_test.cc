// RaftDriver (framework/server/raft_driver.h) stepped by hand: three drivers, each over a real
// WAL in a folder of its own, whose messages the test carries. It proves the order the driver
// keeps — a leader's appends leave before its own write, a follower's answer only once what it
// acknowledges is in its WAL — and that entries commit and come back after a restart, that a local
// snapshot compacts the log but for the catch-up entries, and that a leader's snapshot replaces a
// lagging follower's log and is handed out before the entries after it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/random.h"
#include "server/raft_driver.h"
#include "temp_dir.h"
#include "wal/file_system.h"
#include "wal/wal_storage.h"

namespace keel::server {
namespace {

constexpr uint64_t kCluster = 0xc1;

// A message as it left, with how far the sender's WAL reached at that moment.
struct Sent {
  raft::Message message;
  uint64_t sender_last_index = 0;
};

// What a driver handed out, in order.
class Recorder : public RaftOutput {
 public:
  explicit Recorder(const wal::WalStorage* const* storage) : storage_(storage) {}

  void on_soft_state(const raft::SoftState& state) override { soft = state; }
  void send(std::vector<raft::Message>& messages) override {
    for (raft::Message& m : messages) sent.push_back(Sent{m, (*storage_)->last_index().value()});
    messages.clear();
  }
  void on_hard_state(const raft::HardState& state) override { hard = state; }
  void on_read_states(const std::vector<raft::ReadState>&) override {}
  void apply_snapshot(raft::Snapshot snapshot) override { handed.push_back("snapshot " + std::to_string(snapshot.metadata.index)); }
  void apply_entries(std::vector<raft::Entry> entries) override {
    for (const raft::Entry& e : entries) {
      handed.push_back("entry " + std::to_string(e.index));
      if (!e.data.empty()) applied_data.push_back(e.data);
      applied = e.index;
    }
  }

  raft::SoftState soft;
  raft::HardState hard;
  std::vector<Sent> sent;
  std::vector<std::string> handed;       // "snapshot <index>" and "entry <index>", in order
  std::vector<std::string> applied_data;  // the entries' data, in order
  uint64_t applied = 0;

 private:
  const wal::WalStorage* const* storage_;  // the member's current WAL (reopened on restart)
};

struct Member {
  uint64_t id = 0;
  wal::TempDir dir;
  raft::SplitMix64 random{0};
  std::unique_ptr<wal::WalStorage> storage;
  const wal::WalStorage* storage_view = nullptr;
  Recorder out{&storage_view};
  std::unique_ptr<RaftDriver> driver;
  bool connected = true;  // false: messages to and from it are lost
};

class RaftDriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (uint64_t id = 1; id <= 3; ++id) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->random = raft::SplitMix64(id);
      members_[id] = std::move(m);
      open(*members_[id]);
    }
  }

  // Opens (or reopens) `m`'s WAL and a driver over it, as a member starting does.
  void open(Member& m) {
    m.driver.reset();
    wal::WalOptions wal_options;
    Result<std::unique_ptr<wal::WalStorage>> storage = wal::WalStorage::open(
        wal::posix_file_system(), m.dir.path(), wal::WalMetadata{m.id, kCluster}, wal_options);
    ASSERT_TRUE(storage.ok()) << storage.status().to_string();
    m.storage = std::move(storage).value();
    m.storage_view = m.storage.get();
    if (m.storage->needs_bootstrap()) {
      raft::ConfState conf;
      conf.voters = {1, 2, 3};
      ASSERT_TRUE(m.storage->bootstrap(conf).ok());
    }
    raft::Config config;
    config.id = m.id;
    config.election_tick = 10;
    config.heartbeat_tick = 1;
    config.random = &m.random;
    // The state machine here is the recorder, which applied everything committed before.
    config.applied = std::max(m.storage->snapshot().value().metadata.index,
                              m.storage->initial_state().value().hard_state.commit);
    RaftDriverOptions options;
    options.backend_name = "test";
    options.snapshot_catchup_entries = 2;
    Result<std::unique_ptr<RaftDriver>> driver = RaftDriver::open(*m.storage, config, options);
    ASSERT_TRUE(driver.ok()) << driver.status().to_string();
    m.driver = std::move(driver).value();
  }

  Member& member(uint64_t id) { return *members_.at(id); }

  // Each member takes its Ready once; returns what they sent (in the order sent).
  std::vector<raft::Message> ready_all() {
    std::vector<raft::Message> out;
    for (auto& [id, m] : members_) {
      const size_t before = m->out.sent.size();
      Status s = m->driver->handle_ready(m->out);
      EXPECT_TRUE(s.ok()) << s.to_string();
      for (size_t i = before; i < m->out.sent.size(); ++i) out.push_back(m->out.sent[i].message);
    }
    return out;
  }

  void deliver(const std::vector<raft::Message>& messages) {
    for (const raft::Message& msg : messages) {
      Member& to = member(msg.to);
      if (!to.connected || !member(msg.from).connected) continue;
      (void)to.driver->raft().step(msg);  // a stale message may be refused; Raft says why
    }
  }

  // Readys and deliveries until nothing is left to do (bounded).
  void settle() {
    for (int round = 0; round < 200; ++round) {
      bool ready = false;
      for (auto& [id, m] : members_) ready = ready || m->driver->raft().has_ready();
      if (!ready) return;
      deliver(ready_all());
    }
    FAIL() << "the drivers did not settle within 200 rounds";
  }

  void elect(uint64_t id) {
    member(id).driver->raft().campaign();
    settle();
    ASSERT_EQ(member(id).driver->lead(), id);
    for (auto& [other, m] : members_) {
      if (m->connected) {
        ASSERT_EQ(m->driver->lead(), id) << "member " << other;
      }
    }
  }

  std::map<uint64_t, std::unique_ptr<Member>> members_;
};

TEST_F(RaftDriverTest, AnEntryProposedOnTheLeaderIsCommittedAndAppliedEverywhere) {
  elect(1);
  EXPECT_EQ(member(1).out.soft.role, raft::Role::kLeader);
  EXPECT_EQ(member(2).out.soft.lead, 1u);
  ASSERT_TRUE(member(1).driver->raft().propose("put x").ok());
  settle();
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(member(id).out.applied_data, std::vector<std::string>{"put x"}) << "member " << id;
    EXPECT_EQ(member(id).out.hard.commit, member(1).out.applied) << "member " << id;
  }
}

TEST_F(RaftDriverTest, TheLeaderSendsItsAppendsBeforeItsWriteAndAFollowerAnswersAfterIts) {
  elect(1);
  Member& leader = member(1);
  const uint64_t index = leader.storage->last_index().value() + 1;
  ASSERT_TRUE(leader.driver->raft().propose("put y").ok());

  const size_t sent_before = leader.out.sent.size();
  ASSERT_TRUE(leader.driver->handle_ready(leader.out).ok());
  int appends = 0;
  for (size_t i = sent_before; i < leader.out.sent.size(); ++i) {
    const Sent& s = leader.out.sent[i];
    if (s.message.type != raft::MessageType::kApp || s.message.entries.empty()) continue;
    ++appends;
    EXPECT_EQ(s.message.entries.back().index, index);
    EXPECT_LT(s.sender_last_index, index) << "the append left after the leader's own write";
  }
  EXPECT_EQ(appends, 2);
  EXPECT_EQ(leader.storage->last_index().value(), index);  // and the write happened in the same Ready

  std::vector<raft::Message> to_follower;
  for (size_t i = sent_before; i < leader.out.sent.size(); ++i) {
    if (leader.out.sent[i].message.to == 2) to_follower.push_back(leader.out.sent[i].message);
  }
  deliver(to_follower);
  Member& follower = member(2);
  const size_t follower_before = follower.out.sent.size();
  ASSERT_TRUE(follower.driver->handle_ready(follower.out).ok());
  bool acknowledged = false;
  for (size_t i = follower_before; i < follower.out.sent.size(); ++i) {
    const Sent& s = follower.out.sent[i];
    if (s.message.type != raft::MessageType::kAppResp || s.message.reject) continue;
    acknowledged = true;
    EXPECT_EQ(s.message.index, index);
    EXPECT_GE(s.sender_last_index, index) << "the follower acknowledged an entry not yet in its WAL";
  }
  EXPECT_TRUE(acknowledged);
}

TEST_F(RaftDriverTest, ARestartedMemberComesBackToWhatItsWalHolds) {
  elect(1);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(member(1).driver->raft().propose("put " + std::to_string(i)).ok());
  settle();
  Member& m = member(3);
  const raft::HardState before = m.out.hard;
  const uint64_t last = m.storage->last_index().value();
  open(m);
  EXPECT_EQ(m.storage->initial_state().value().hard_state.term, before.term);
  EXPECT_EQ(m.storage->initial_state().value().hard_state.commit, before.commit);
  EXPECT_EQ(m.storage->last_index().value(), last);
  // And it goes on in the cluster: the next entry reaches it.
  ASSERT_TRUE(member(1).driver->raft().propose("after restart").ok());
  settle();
  EXPECT_EQ(m.out.applied_data.back(), "after restart");
}

TEST_F(RaftDriverTest, ALocalSnapshotCompactsTheLogButForTheCatchUpEntries) {
  elect(1);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(member(1).driver->raft().propose("put " + std::to_string(i)).ok());
  settle();
  Member& m = member(2);
  const uint64_t index = m.out.applied;
  ASSERT_TRUE(m.driver->snapshot_at(index).ok());
  EXPECT_EQ(m.storage->snapshot().value().metadata.index, index);
  EXPECT_EQ(m.storage->snapshot().value().metadata.conf_state.voters, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(m.storage->first_index().value(), index - 2 + 1) << "two catch-up entries are kept";
  // A snapshot at an index compacted away already is not taken again, and is no error.
  ASSERT_TRUE(m.driver->snapshot_at(1).ok());
  EXPECT_EQ(m.storage->snapshot().value().metadata.index, index);
  // A restart begins at the snapshot.
  open(m);
  EXPECT_EQ(m.storage->snapshot().value().metadata.index, index);
}

TEST_F(RaftDriverTest, ALaggingFollowerGetsTheLeadersSnapshotBeforeTheEntriesAfterIt) {
  elect(1);
  Member& lagging = member(3);
  lagging.connected = false;
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(member(1).driver->raft().propose("put " + std::to_string(i)).ok());
  settle();
  // The leader's log no longer holds what the lagging member misses.
  const uint64_t snapshot_index = member(1).out.applied;
  ASSERT_TRUE(member(1).driver->snapshot_at(snapshot_index).ok());
  ASSERT_GT(member(1).storage->first_index().value(), lagging.storage->last_index().value() + 1);
  ASSERT_TRUE(member(1).driver->raft().propose("after the snapshot").ok());
  settle();

  lagging.out.handed.clear();
  lagging.connected = true;
  // Heartbeats make the leader find the gap; the snapshot message carries the metadata (the
  // member's transport carries the store beside it).
  for (int tick = 0; tick < 5; ++tick) {
    member(1).driver->raft().tick();
    settle();
    member(1).driver->raft().report_snapshot(3, raft::SnapshotStatus::kFinish);
    settle();
  }
  ASSERT_FALSE(lagging.out.handed.empty());
  EXPECT_EQ(lagging.out.handed.front(), "snapshot " + std::to_string(snapshot_index));
  EXPECT_EQ(lagging.storage->snapshot().value().metadata.index, snapshot_index);
  EXPECT_TRUE(lagging.storage->snapshot_from_leader());
  EXPECT_EQ(lagging.out.applied_data.back(), "after the snapshot");
  bool file = false;
  for (const auto& e : std::filesystem::directory_iterator(lagging.storage->snap_dir())) {
    file = file || e.path().extension() == ".snap";
  }
  EXPECT_TRUE(file) << "no snapshot file in " << lagging.storage->snap_dir();
}

}  // namespace
}  // namespace keel::server
