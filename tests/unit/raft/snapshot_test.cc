// Snapshots (dissertation §5.1 "Snapshotting memory-based state machines", §5.4.2 install):
// a follower too far behind gets one; the log is compacted to it; a member restores from it and
// takes its configuration from it.
#include <gtest/gtest.h>

#include "test_cluster.h"

namespace keel::raft::test {
namespace {

void CompactAt(Cluster& c, NodeId id, uint64_t index) {
  Peer& p = c.peer(id);
  ASSERT_TRUE(
      p.storage->create_snapshot(index, p.conf_state, "state@" + std::to_string(index)).ok());
  ASSERT_TRUE(p.storage->compact(index).ok());
}

// §5.4.2: "the leader must occasionally send snapshots to followers that lag behind" when the
// entries they need were discarded; the follower replaces its log with the snapshot.
TEST(SnapshotTest, LaggingFollowerGetsSnapshot) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  for (int i = 0; i < 5; ++i) c.propose(1, "e" + std::to_string(i));
  CompactAt(c, 1, c.raft(1).log().applied());
  c.recover();
  std::vector<Message> snaps;
  c.hook = [&](const Message& m) {
    if (m.type == MessageType::kSnap) snaps.push_back(m);
    return true;
  };
  c.tick_all(3);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].snapshot.metadata.index, 7u);
  EXPECT_EQ(snaps[0].snapshot.data, "state@7");
  EXPECT_EQ(c.peer(3).storage->snapshot()->metadata.index, 7u);
  EXPECT_EQ(c.peer(3).applied_index, 7u);
  // And it replicates normally afterwards.
  c.propose(1, "after");
  EXPECT_EQ(c.peer(3).applied.back().data, "after");
  EXPECT_EQ(c.raft(1).tracker().get(3)->state, ProgressState::kReplicate);
}

// Progress (etcd's tracker): probe -> snapshot while the snapshot is out; nothing else is sent
// to the follower meanwhile; a reported failure returns it to probing.
TEST(SnapshotTest, ProgressWhileSnapshotInFlight) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  for (int i = 0; i < 3; ++i) c.propose(1, "e");
  CompactAt(c, 1, c.raft(1).log().applied());
  c.recover();
  c.ignore(MessageType::kSnap);  // the snapshot is "in flight" forever
  c.tick_all(1);
  Progress* pr = c.raft(1).tracker().get(3);
  ASSERT_EQ(pr->state, ProgressState::kSnapshot);
  EXPECT_EQ(pr->pending_snapshot, 5u);
  EXPECT_TRUE(pr->is_paused());
  c.node(1).report_snapshot(3, SnapshotStatus::kFailure);
  EXPECT_EQ(c.raft(1).tracker().get(3)->state, ProgressState::kProbe);
  c.recover();
  c.tick_all(3);
  EXPECT_EQ(c.raft(1).tracker().get(3)->match, c.raft(1).log().last_index());
}

// §5.1: a member restarting from a snapshot takes its membership and index from it.
TEST(SnapshotTest, RestartFromSnapshotRestoresConfiguration) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kAddLearner, 4, ""}).ok());
  c.stabilize();
  c.propose(1, "x");
  CompactAt(c, 2, c.peer(2).applied_index);
  c.restart(2);
  EXPECT_TRUE(c.raft(2).tracker().is_learner(4));
  EXPECT_TRUE(c.raft(2).tracker().is_voter(3));
  EXPECT_EQ(c.raft(2).log().first_index(), c.peer(2).applied_index + 1);
  EXPECT_EQ(c.raft(2).log().committed(), c.peer(2).applied_index);
}

// A snapshot older than the follower's commit index is ignored (answered with the commit).
TEST(SnapshotTest, StaleSnapshotIgnored) {
  Solo s = MakeSolo(1, {1, 2});
  s.raft->become_follower(2, 2);
  Message app;
  app.type = MessageType::kApp;
  app.from = 2;
  app.to = 1;
  app.term = 2;
  app.index = 1;
  app.log_term = 1;
  app.commit = 3;
  app.entries = {{2, 2, EntryType::kNormal, "a"}, {2, 3, EntryType::kNormal, "b"}};
  ASSERT_TRUE(s.raft->step(app).ok());
  Message snap;
  snap.type = MessageType::kSnap;
  snap.from = 2;
  snap.to = 1;
  snap.term = 2;
  snap.snapshot.metadata = SnapshotMetadata{ConfState{{1, 2}, {}}, 2, 2};
  (void)s.raft->take_messages();
  ASSERT_TRUE(s.raft->step(snap).ok());
  EXPECT_FALSE(s.raft->log().has_pending_snapshot());
  auto resp = s.raft->take_messages();
  ASSERT_EQ(resp.size(), 1u);
  EXPECT_EQ(resp[0].index, 3u);
}

// A snapshot whose last entry the follower already has only fast-forwards its commit index.
TEST(SnapshotTest, MatchingSnapshotFastForwardsCommit) {
  Solo s = MakeSolo(1, {1, 2});
  s.raft->become_follower(2, 2);
  Message app;
  app.type = MessageType::kApp;
  app.from = 2;
  app.to = 1;
  app.term = 2;
  app.index = 1;
  app.log_term = 1;
  app.commit = 1;
  app.entries = {{2, 2, EntryType::kNormal, "a"}, {2, 3, EntryType::kNormal, "b"}};
  ASSERT_TRUE(s.raft->step(app).ok());
  Message snap = app;
  snap.type = MessageType::kSnap;
  snap.entries.clear();
  snap.snapshot.metadata = SnapshotMetadata{ConfState{{1, 2}, {}}, 3, 2};
  ASSERT_TRUE(s.raft->step(snap).ok());
  EXPECT_FALSE(s.raft->log().has_pending_snapshot());
  EXPECT_EQ(s.raft->log().committed(), 3u);
}

// A hard state whose commit index is below the snapshot's (a crash between writing the snapshot
// and the hard state) is not corruption: the snapshot's entries are committed by definition.
// One past the last entry is.
TEST(SnapshotTest, RestartCommitBelowSnapshotIsKept) {
  MemoryStorage s;
  Snapshot snap;
  snap.metadata = SnapshotMetadata{ConfState{{1, 2, 3}, {}}, 5, 2};
  ASSERT_TRUE(s.apply_snapshot(snap).ok());
  s.set_hard_state(HardState{2, 1, 3});
  SplitMix64 rng(1);
  Config c = TestConfig(1, &s, &rng);
  auto r = Raft::Create(c);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ((*r)->log().committed(), 5u);
  s.set_hard_state(HardState{2, 1, 9});
  EXPECT_TRUE(Raft::Create(c).status().is_corruption());
}

}  // namespace
}  // namespace keel::raft::test
