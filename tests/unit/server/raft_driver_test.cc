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
  void on_conf_change(uint64_t index, const raft::ConfChange& change, const raft::ConfState& membership) override {
    handed.push_back("conf change " + std::to_string(index));
    changes.push_back(change);
    this->membership = membership;
  }
  void apply_snapshot(raft::Snapshot snapshot) override { handed.push_back("snapshot " + std::to_string(snapshot.metadata.index)); }
  void apply_entries(std::vector<raft::Entry> entries) override {
    for (const raft::Entry& e : entries) {
      handed.push_back("entry " + std::to_string(e.index));
      if (e.type == raft::EntryType::kNormal && !e.data.empty()) applied_data.push_back(e.data);
      applied = e.index;
    }
  }

  raft::SoftState soft;
  raft::HardState hard;
  std::vector<Sent> sent;
  std::vector<std::string> handed;       // "snapshot <index>" and "entry <index>", in order
  std::vector<std::string> applied_data;  // the entries' data, in order
  std::vector<raft::ConfChange> changes;  // the configuration changes said, in order
  raft::ConfState membership;             // after the last of them
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

  // Opens (or reopens) `m`'s WAL and a driver over it, as a member starting does: a founding
  // member (`bootstrap`) records the first membership; one added later starts empty.
  void open(Member& m, bool bootstrap = true) {
    m.driver.reset();
    wal::WalOptions wal_options;
    Result<std::unique_ptr<wal::WalStorage>> storage = wal::WalStorage::open(
        wal::posix_file_system(), m.dir.path(), wal::WalMetadata{m.id, kCluster}, wal_options);
    ASSERT_TRUE(storage.ok()) << storage.status().to_string();
    m.storage = std::move(storage).value();
    m.storage_view = m.storage.get();
    if (bootstrap && m.storage->needs_bootstrap()) {
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

  // A member that was not among the founders: an empty WAL, known to nobody yet.
  Member& add_empty_member(uint64_t id) {
    auto m = std::make_unique<Member>();
    m->id = id;
    m->random = raft::SplitMix64(id);
    members_[id] = std::move(m);
    open(*members_[id], /*bootstrap=*/false);
    return *members_[id];
  }

  // The leader proposes `type` for `id`; true once every connected member applied it.
  void change_membership(uint64_t leader, raft::ConfChangeType type, uint64_t id) {
    raft::ConfChange change;
    change.type = type;
    change.node_id = id;
    ASSERT_TRUE(member(leader).driver->raft().propose_conf_change(change).ok());
    settle();
    heartbeats(leader);
  }

  // A few heartbeat rounds of `leader` (a member it does not know of yet hears from it only so).
  void heartbeats(uint64_t leader, int rounds = 3) {
    for (int i = 0; i < rounds; ++i) {
      member(leader).driver->raft().tick();
      settle();
    }
  }

  // Ticks `ids` (and carries their messages) until one of them leads; that one, or kNone if none
  // did within `rounds` election timeouts.
  uint64_t tick_until_one_leads(const std::vector<uint64_t>& ids, int rounds = 10) {
    for (int i = 0; i < rounds * 2 * 10; ++i) {
      for (uint64_t id : ids) member(id).driver->raft().tick();
      settle();
      for (uint64_t id : ids) {
        if (member(id).driver->lead() == id) return id;
      }
    }
    return raft::kNone;
  }

  static raft::ConfState voters(std::vector<uint64_t> ids) {
    raft::ConfState cs;
    cs.voters = std::move(ids);
    return cs;
  }

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

TEST_F(RaftDriverTest, AVoterAddedByAConfChangeGetsTheLogAndCountsForElections) {
  elect(1);
  ASSERT_TRUE(member(1).driver->raft().propose("before the change").ok());
  settle();
  Member& added = add_empty_member(4);
  change_membership(1, raft::ConfChangeType::kAddVoter, 4);
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(member(id).driver->conf_state(), voters({1, 2, 3, 4})) << "member " << id;
    EXPECT_EQ(member(id).driver->raft().status().conf_state, voters({1, 2, 3, 4})) << "member " << id;
    ASSERT_FALSE(member(id).out.changes.empty()) << "member " << id;
    EXPECT_EQ(member(id).out.changes.back().node_id, 4u);
    EXPECT_EQ(member(id).out.membership, voters({1, 2, 3, 4}));
  }
  // The new member starts from the leader's snapshot of the founding membership, then the log.
  ASSERT_FALSE(added.out.handed.empty()) << "the new member got nothing from the leader";
  EXPECT_EQ(added.out.handed.front(), "snapshot 1");
  EXPECT_EQ(added.driver->raft().status().conf_state, voters({1, 2, 3, 4}));
  EXPECT_EQ(added.out.applied_data, std::vector<std::string>{"before the change"});

  // Four voters: without the leader, 2 and 3 alone are no quorum; with 4 they are.
  member(1).connected = false;
  const uint64_t leader = tick_until_one_leads({2, 3, 4});
  EXPECT_NE(leader, raft::kNone) << "members 2, 3 and 4 elected nobody: 4 does not vote";
  EXPECT_EQ(added.driver->lead(), leader);
}

TEST_F(RaftDriverTest, ARemovedVoterNoLongerCountsAndASnapshotRecordsTheMembershipOfItsIndex) {
  elect(1);
  ASSERT_TRUE(member(1).driver->raft().propose("put a").ok());
  settle();
  const uint64_t before_change = member(2).out.applied;
  change_membership(1, raft::ConfChangeType::kRemoveNode, 3);
  const uint64_t change_index = member(2).out.applied;
  ASSERT_GT(change_index, before_change);
  EXPECT_EQ(member(2).driver->conf_state(), voters({1, 2}));
  EXPECT_EQ(member(2).driver->conf_state_at(before_change), voters({1, 2, 3}));
  EXPECT_EQ(member(2).driver->conf_state_at(change_index), voters({1, 2}));

  // Two voters left: the leader commits with member 2 alone.
  member(3).connected = false;
  ASSERT_TRUE(member(1).driver->raft().propose("put b").ok());
  settle();
  EXPECT_EQ(member(2).out.applied_data.back(), "put b");

  // A snapshot taken at an index before the change records the three voters of that index.
  Member& m = member(2);
  ASSERT_TRUE(m.driver->snapshot_at(before_change).ok());
  EXPECT_EQ(m.storage->snapshot().value().metadata.conf_state, voters({1, 2, 3}));
  ASSERT_TRUE(m.driver->snapshot_at(change_index).ok());
  EXPECT_EQ(m.storage->snapshot().value().metadata.conf_state, voters({1, 2}));
}

TEST_F(RaftDriverTest, ARestartBringsBackTheChangesAppliedBeforeIt) {
  elect(1);
  change_membership(1, raft::ConfChangeType::kRemoveNode, 3);
  Member& m = member(2);
  ASSERT_EQ(m.out.hard.commit, m.out.applied);
  // Reopened with everything applied: Raft hands none of it out again, so the driver must apply
  // the removal itself, or member 2 would count member 3's vote.
  open(m);
  EXPECT_TRUE(m.out.changes.size() == 1) << "the change was said again on restart";
  EXPECT_EQ(m.driver->conf_state(), voters({1, 2}));
  EXPECT_EQ(m.driver->raft().status().conf_state, voters({1, 2}));

  member(1).connected = false;
  EXPECT_EQ(tick_until_one_leads({2, 3}), raft::kNone) << "an election won with the vote of a removed member";
}

TEST_F(RaftDriverTest, AConfChangeThatDoesNotDecodeStopsTheMember) {
  elect(1);
  // Written as a conf change entry by hand: Raft itself only ever writes what it encoded.
  raft::Entry bad;
  bad.type = raft::EntryType::kConfChange;
  bad.data = "\xff\xff";
  Member& m = member(2);
  raft::Message append;
  append.type = raft::MessageType::kApp;
  append.from = 1;
  append.to = 2;
  append.term = m.out.hard.term;
  append.log_term = m.storage->term(m.storage->last_index().value()).value();
  append.index = m.storage->last_index().value();
  bad.term = append.term;
  bad.index = append.index + 1;
  append.entries = {bad};
  append.commit = bad.index;
  ASSERT_TRUE(m.driver->raft().step(append).ok());
  Status s = m.driver->handle_ready(m.out);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.to_string();
}

}  // namespace
}  // namespace keel::server
