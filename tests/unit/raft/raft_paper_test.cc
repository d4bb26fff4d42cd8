// Tests of the rules of the Raft paper's §5 ("In Search of an Understandable Consensus
// Algorithm", extended version), one test per rule, in the style of etcd raft's
// raft_paper_test.go. Each test restates the sentence it checks and cites its section; each has
// three parts: init (a member or cluster in a known state), act (the messages or ticks of the
// rule), check (the state and the messages the rule demands). Table tests name their row "#i".
//
// Members start bootstrapped at index 1, term 1 (test_cluster.h), so the first election is for
// term 2 and the new leader's empty entry is at index 2.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_cluster.h"

namespace keel::raft::test {
namespace {

Message Msg(MessageType t, NodeId from, NodeId to, uint64_t term) {
  Message m;
  m.type = t;
  m.from = from;
  m.to = to;
  m.term = term;
  return m;
}

std::vector<Message> OfType(const std::vector<Message>& ms, MessageType t) {
  std::vector<Message> out;
  for (const Message& m : ms) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

void ElectLeader(Raft& r, MemoryStorage& s) {
  r.become_candidate();
  r.become_leader();
  Persist(r, s);
  (void)r.take_messages();
}

// §5.1: "Current terms are exchanged whenever servers communicate; if one server's current term
// is smaller than the other's, then it updates its current term to the larger value. If a
// candidate or leader discovers that its term is out of date, it immediately reverts to follower
// state."
TEST(RaftPaperTest, UpdateTermFromMessage) {
  const Role roles[] = {Role::kFollower, Role::kCandidate, Role::kLeader};
  for (size_t i = 0; i < 3; ++i) {
    // init
    Solo s = MakeSolo(1, {1, 2, 3});
    if (roles[i] == Role::kCandidate) s.raft->become_candidate();
    if (roles[i] == Role::kLeader) {
      s.raft->become_candidate();
      s.raft->become_leader();
    }
    // act
    ASSERT_TRUE(s.raft->step(Msg(MessageType::kApp, 2, 1, 9)).ok()) << "#" << i;
    // check
    EXPECT_EQ(s.raft->term(), 9u) << "#" << i;
    EXPECT_EQ(s.raft->role(), Role::kFollower) << "#" << i;
  }
}

// §5.1: "If a server receives a request with a stale term number, it rejects the request."
TEST(RaftPaperTest, RejectStaleTermMessage) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.raft->become_follower(5, kNone);
  Message m = Msg(MessageType::kApp, 2, 1, 4);
  m.index = 1;
  m.log_term = 1;
  m.entries.push_back(Entry{4, 2, EntryType::kNormal, "x"});
  ASSERT_TRUE(s.raft->step(m).ok());
  EXPECT_EQ(s.raft->log().last_index(), 1u);  // nothing appended
  EXPECT_EQ(s.raft->term(), 5u);
  EXPECT_EQ(s.raft->lead(), kNone);
}

// §5.2: "When servers start up, they begin as followers."
TEST(RaftPaperTest, StartAsFollower) {
  Solo s = MakeSolo(1, {1, 2, 3});
  EXPECT_EQ(s.raft->role(), Role::kFollower);
}

// §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log entries) to all
// followers in order to maintain their authority."
TEST(RaftPaperTest, LeaderBcastBeat) {
  Solo s = MakeSolo(1, {1, 2, 3});
  ElectLeader(*s.raft, *s.storage);
  s.raft->tick();  // heartbeat_tick = 1
  auto hb = OfType(s.raft->take_messages(), MessageType::kHeartbeat);
  ASSERT_EQ(hb.size(), 2u);
  EXPECT_EQ(hb[0].to, 2u);
  EXPECT_EQ(hb[1].to, 3u);
  EXPECT_TRUE(hb[0].entries.empty());
  EXPECT_EQ(hb[0].term, s.raft->term());
}

// §5.2: "If a follower receives no communication over a period of time called the election
// timeout, then it assumes there is no viable leader and begins an election to choose a new
// leader. To begin an election, a follower increments its current term and transitions to
// candidate state. It then votes for itself and issues RequestVote RPCs in parallel to each of
// the other servers in the cluster." The same holds for a candidate whose election timed out.
TEST(RaftPaperTest, FollowerAndCandidateStartElection) {
  for (int i = 0; i < 2; ++i) {
    Solo s = MakeSolo(1, {1, 2, 3});
    if (i == 1) s.raft->become_candidate();  // term 2
    const uint64_t term0 = s.raft->term();
    (void)s.raft->take_messages();
    for (int t = 0; t < 2 * 10; ++t) s.raft->tick();
    EXPECT_EQ(s.raft->term(), term0 + 1) << "#" << i;
    EXPECT_EQ(s.raft->role(), Role::kCandidate) << "#" << i;
    EXPECT_EQ(s.raft->vote(), 1u) << "#" << i;
    auto votes = OfType(s.raft->take_messages(), MessageType::kVote);
    ASSERT_EQ(votes.size(), 2u) << "#" << i;
    EXPECT_EQ(votes[0].to, 2u);
    EXPECT_EQ(votes[1].to, 3u);
    EXPECT_EQ(votes[0].term, term0 + 1);
    EXPECT_EQ(votes[0].index, 1u);
    EXPECT_EQ(votes[0].log_term, 1u);
  }
}

// §5.2: "A candidate wins an election if it receives votes from a majority of the servers in
// the full cluster for the same term." ... "remains candidate if neither".
TEST(RaftPaperTest, LeaderElectionInOneRoundRPC) {
  struct Row {
    size_t size;
    std::map<NodeId, bool> votes;
    Role want;
  };
  const std::vector<Row> rows = {
      {1, {}, Role::kLeader},
      {3, {{2, true}, {3, true}}, Role::kLeader},
      {3, {{2, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}, {5, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}, {4, true}}, Role::kLeader},
      {5, {{2, true}, {3, true}}, Role::kLeader},
      {3, {{2, false}, {3, false}}, Role::kFollower},
      {5, {{2, false}, {3, false}, {4, false}, {5, false}}, Role::kFollower},
      {5, {{2, true}, {3, false}, {4, false}, {5, false}}, Role::kFollower},
      {3, {}, Role::kCandidate},
      {5, {{2, true}}, Role::kCandidate},
      {5, {{2, false}, {3, false}}, Role::kCandidate},
      {5, {{2, true}, {3, false}, {4, false}}, Role::kCandidate},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<NodeId> ids;
    for (NodeId id = 1; id <= rows[i].size; ++id) ids.push_back(id);
    Solo s = MakeSolo(1, ids);
    (void)s.raft->step(Msg(MessageType::kHup, 1, 1, 0));
    for (const auto& [id, granted] : rows[i].votes) {
      Message m = Msg(MessageType::kVoteResp, id, 1, s.raft->term());
      m.reject = !granted;
      ASSERT_TRUE(s.raft->step(m).ok());
    }
    EXPECT_EQ(s.raft->role(), rows[i].want) << "#" << i;
    EXPECT_EQ(s.raft->term(), 2u) << "#" << i;
  }
}

// §5.2: "Each server will vote for at most one candidate in a given term, on a first-come-first-
// served basis."
TEST(RaftPaperTest, FollowerVote) {
  struct Row {
    NodeId vote;
    NodeId nvote;
    bool want_reject;
  };
  const std::vector<Row> rows = {
      {kNone, 1, false}, {kNone, 2, false}, {1, 1, false},
      {2, 2, false},     {1, 2, true},      {2, 1, true},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSolo(1, {1, 2, 3});
    s.storage->set_hard_state(HardState{2, rows[i].vote, 1});
    auto r = Raft::Create(TestConfig(1, s.storage.get(), s.random.get()));
    ASSERT_TRUE(r.ok());
    Message m = Msg(MessageType::kVote, rows[i].nvote, 1, 2);
    m.index = 1;
    m.log_term = 1;
    ASSERT_TRUE((*r)->step(m).ok());
    auto resp = OfType((*r)->take_messages(), MessageType::kVoteResp);
    ASSERT_EQ(resp.size(), 1u) << "#" << i;
    EXPECT_EQ(resp[0].reject, rows[i].want_reject) << "#" << i;
  }
}

// §5.2: "While waiting for votes, a candidate may receive an AppendEntries RPC from another
// server claiming to be leader. If the leader's term is at least as large as the candidate's
// current term, then the candidate recognizes the leader as legitimate and returns to follower
// state."
TEST(RaftPaperTest, CandidateFallback) {
  for (uint64_t delta = 0; delta < 2; ++delta) {
    Solo s = MakeSolo(1, {1, 2, 3});
    s.raft->become_candidate();
    const uint64_t t = s.raft->term() + delta;
    ASSERT_TRUE(s.raft->step(Msg(MessageType::kApp, 2, 1, t)).ok());
    EXPECT_EQ(s.raft->role(), Role::kFollower) << "#" << delta;
    EXPECT_EQ(s.raft->term(), t) << "#" << delta;
    EXPECT_EQ(s.raft->lead(), 2u) << "#" << delta;
  }
}

// §5.2: "Raft uses randomized election timeouts to ensure that split votes are rare": the
// timeout lies in [election_tick, 2*election_tick), and members draw different values.
TEST(RaftPaperTest, ElectionTimeoutRandomized) {
  std::set<int> seen;
  for (NodeId id = 1; id <= 50; ++id) {
    Solo s = MakeSolo(id, {id});
    for (int k = 0; k < 5; ++k) {
      s.raft->become_follower(s.raft->term() + 1, kNone);
      const int t = s.raft->randomized_election_timeout();
      EXPECT_GE(t, 10);
      EXPECT_LT(t, 20);
      seen.insert(t);
    }
  }
  EXPECT_GT(seen.size(), 5u);  // spread, not one value
}

// §5.3: "Once a leader has been elected, it begins servicing client requests ... The leader
// appends the command to its log as a new entry, then issues AppendEntries RPCs in parallel to
// each of the other servers to replicate the entry."
TEST(RaftPaperTest, LeaderStartReplication) {
  Solo s = MakeSolo(1, {1, 2, 3});
  ElectLeader(*s.raft, *s.storage);
  // Followers accepted the empty entry: they replicate now.
  for (NodeId f : {2, 3}) {
    Message r = Msg(MessageType::kAppResp, f, 1, s.raft->term());
    r.index = 2;
    ASSERT_TRUE(s.raft->step(r).ok());
  }
  (void)s.raft->take_messages();
  Message p = Msg(MessageType::kProp, 1, 1, 0);
  p.entries.push_back(Entry{0, 0, EntryType::kNormal, "some data"});
  ASSERT_TRUE(s.raft->step(p).ok());
  EXPECT_EQ(s.raft->log().last_index(), 3u);
  auto apps = OfType(s.raft->take_messages(), MessageType::kApp);
  ASSERT_EQ(apps.size(), 2u);
  for (const Message& m : apps) {
    EXPECT_EQ(m.index, 2u);  // the entry before the new one
    EXPECT_EQ(m.log_term, s.raft->term());
    ASSERT_EQ(m.entries.size(), 1u);
    EXPECT_EQ(m.entries[0].index, 3u);
    EXPECT_EQ(m.entries[0].data, "some data");
    EXPECT_EQ(m.commit, 2u);
  }
}

// §5.3: "A log entry is committed once the leader that created the entry has replicated it on a
// majority of the servers ... The leader keeps track of the highest index it knows to be
// committed, and it includes that index in future AppendEntries RPCs."
TEST(RaftPaperTest, LeaderCommitEntry) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  ASSERT_TRUE(c.propose(1, "some data").ok());
  EXPECT_EQ(c.raft(1).log().committed(), 3u);
  for (NodeId id : {1, 2, 3}) {
    ASSERT_FALSE(c.peer(id).applied.empty());
    EXPECT_EQ(c.peer(id).applied.back().data, "some data") << id;
  }
}

// §5.3: "The leader decides when it is safe to apply a log entry: once it has replicated it on a
// majority" — and not before.
TEST(RaftPaperTest, LeaderAcknowledgeCommit) {
  struct Row {
    size_t size;
    std::set<NodeId> acceptors;
    bool committed;
  };
  const std::vector<Row> rows = {
      {1, {}, true},     {3, {}, false},       {3, {2}, true},
      {3, {2, 3}, true}, {5, {}, false},       {5, {2}, false},
      {5, {2, 3}, true}, {5, {2, 3, 4}, true}, {5, {2, 3, 4, 5}, true},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<NodeId> ids;
    for (NodeId id = 1; id <= rows[i].size; ++id) ids.push_back(id);
    Solo s = MakeSolo(1, ids);
    ElectLeader(*s.raft, *s.storage);
    Message p = Msg(MessageType::kProp, 1, 1, 0);
    p.entries.push_back(Entry{0, 0, EntryType::kNormal, "x"});
    ASSERT_TRUE(s.raft->step(p).ok());
    Persist(*s.raft, *s.storage);
    for (NodeId a : rows[i].acceptors) {
      Message r = Msg(MessageType::kAppResp, a, 1, s.raft->term());
      r.index = 3;
      ASSERT_TRUE(s.raft->step(r).ok());
    }
    EXPECT_EQ(s.raft->log().committed() == 3, rows[i].committed) << "#" << i;
  }
}

// §5.3: "When the leader commits an entry, it also commits all preceding entries in its log,
// including entries created by previous leaders."
TEST(RaftPaperTest, LeaderCommitPrecedingEntries) {
  const std::vector<std::vector<Entry>> rows = {
      {},
      {{2, 2, EntryType::kNormal, ""}},
      {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSoloWithLog(1, {1, 2, 3}, rows[i], 2);
    ElectLeader(*s.raft, *s.storage);  // term 3
    const uint64_t li = s.raft->log().last_index();
    Message r = Msg(MessageType::kAppResp, 2, 1, s.raft->term());
    r.index = li;
    ASSERT_TRUE(s.raft->step(r).ok());
    EXPECT_EQ(s.raft->log().committed(), li) << "#" << i;
  }
}

// §5.3: "Once a follower learns that a log entry is committed, it applies the entry to its local
// state machine (in log order)."
TEST(RaftPaperTest, FollowerCommitEntry) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.raft->become_follower(2, 2);
  Message m = Msg(MessageType::kApp, 2, 1, 2);
  m.index = 1;
  m.log_term = 1;
  m.commit = 3;
  m.entries = {{2, 2, EntryType::kNormal, "a"}, {2, 3, EntryType::kNormal, "b"}};
  ASSERT_TRUE(s.raft->step(m).ok());
  EXPECT_EQ(s.raft->log().committed(), 3u);
  auto ents = s.raft->log().next_committed_entries(UINT64_MAX);
  ASSERT_EQ(ents.size(), 2u);
  EXPECT_EQ(ents[0].data, "a");
  EXPECT_EQ(ents[1].data, "b");
}

// §5.3: "When sending an AppendEntries RPC, the leader includes the index and term of the entry
// in its log that immediately precedes the new entries. If the follower does not find an entry in
// its log with the same index and term, then it refuses the new entries."
TEST(RaftPaperTest, FollowerCheckMsgApp) {
  const std::vector<Entry> ents = {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}};
  struct Row {
    uint64_t term, index;
    bool reject;
    uint64_t windex;  // index in the response
    uint64_t hint;
  };
  const std::vector<Row> rows = {
      {0, 0, false, 1, 0},  // index below commit: answered with the commit index
      {1, 1, false, 1, 0},  // the snapshot's entry matches
      {1, 2, false, 2, 0}, {2, 3, false, 3, 0},
      {1, 3, true, 3, 2},  // term mismatch at 3: hint the last entry with term <= 1
      {3, 4, true, 4, 3},  // index past the log: hint our last entry
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSoloWithLog(1, {1, 2, 3}, ents, 2);
    s.raft->become_follower(2, 2);
    Message m = Msg(MessageType::kApp, 2, 1, 2);
    m.index = rows[i].index;
    m.log_term = rows[i].term;
    ASSERT_TRUE(s.raft->step(m).ok());
    auto resp = OfType(s.raft->take_messages(), MessageType::kAppResp);
    ASSERT_EQ(resp.size(), 1u) << "#" << i;
    EXPECT_EQ(resp[0].reject, rows[i].reject) << "#" << i;
    EXPECT_EQ(resp[0].index, rows[i].windex) << "#" << i;
    if (rows[i].reject) {
      EXPECT_EQ(resp[0].reject_hint, rows[i].hint) << "#" << i;
    }
  }
}

// §5.3: "If an existing entry conflicts with a new one (same index but different terms), delete
// the existing entry and all that follow it; append any new entries not already in the log."
TEST(RaftPaperTest, FollowerAppendEntries) {
  struct Row {
    uint64_t index, term;
    std::vector<Entry> ents;
    std::vector<uint64_t> want_terms;  // terms of entries 2..
  };
  const std::vector<Row> rows = {
      {3, 2, {{3, 4, EntryType::kNormal, ""}}, {1, 2, 3}},
      {2, 1, {{3, 3, EntryType::kNormal, ""}, {4, 4, EntryType::kNormal, ""}}, {1, 3, 4}},
      {1, 1, {{1, 2, EntryType::kNormal, ""}}, {1, 2}},
      {1, 1, {{3, 2, EntryType::kNormal, ""}}, {3}},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSoloWithLog(1, {1, 2, 3},
                             {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}}, 2);
    s.raft->become_follower(2, 2);
    Message m = Msg(MessageType::kApp, 2, 1, 2);
    m.index = rows[i].index;
    m.log_term = rows[i].term;
    m.entries = rows[i].ents;
    ASSERT_TRUE(s.raft->step(m).ok());
    std::vector<uint64_t> terms;
    for (const Entry& e : s.raft->log().all_entries()) terms.push_back(e.term);
    EXPECT_EQ(terms, rows[i].want_terms) << "#" << i;
  }
}

// §5.3: "the leader handles inconsistencies by forcing the followers' logs to duplicate its own"
// — whatever the follower's log looks like (Figure 7's cases), after replication they match.
TEST(RaftPaperTest, LeaderSyncFollowerLog) {
  auto E = [](uint64_t t, uint64_t i) { return Entry{t, i, EntryType::kNormal, ""}; };
  // The leader's log (terms of entries 2..): 1 1 1 4 4 5 5 6 6 6, as Figure 7, shifted by one.
  std::vector<uint64_t> lt = {1, 1, 1, 4, 4, 5, 5, 6, 6, 6};
  std::vector<std::vector<uint64_t>> followers = {
      {1, 1, 1, 4, 4, 5, 5, 6, 6},
      {1, 1, 1, 4},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6},
      {1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7},
      {1, 1, 1, 4, 4, 4, 4},
      {1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3},
  };
  for (size_t i = 0; i < followers.size(); ++i) {
    Cluster c({1, 2, 3});
    auto fill = [&](NodeId id, const std::vector<uint64_t>& terms, uint64_t term) {
      std::vector<Entry> ents;
      for (size_t k = 0; k < terms.size(); ++k) ents.push_back(E(terms[k], k + 2));
      ASSERT_TRUE(c.peer(id).storage->append(ents).ok());
      c.peer(id).storage->set_hard_state(HardState{term, kNone, 1});
      c.restart(id);
    };
    fill(1, lt, 8);
    fill(2, followers[i], 8);
    fill(3, {}, 8);
    // Only 1 and 3 elect (2's log may be longer or newer); 3 votes for 1.
    c.isolate(2);
    c.campaign(1);
    ASSERT_EQ(c.raft(1).role(), Role::kLeader) << "#" << i;
    c.recover();
    c.propose(1, "sync");
    c.tick_all(3);
    EXPECT_EQ(c.log_of(1), c.log_of(2)) << "#" << i;
    EXPECT_EQ(c.log_of(1), c.log_of(3)) << "#" << i;
  }
}

// §5.4.1: "the voter denies its vote if its own log is more up-to-date than that of the
// candidate ... If the logs have last entries with different terms, then the log with the later
// term is more up-to-date. If the logs end with the same term, then whichever log is longer is
// more up-to-date."
TEST(RaftPaperTest, VoterRejectsLessUpToDateCandidate) {
  const std::vector<Entry> ents = {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}};
  struct Row {
    uint64_t log_term, index;
    bool reject;
  };
  const std::vector<Row> rows = {
      {1, 2, true},  {1, 3, true},  {1, 4, true},  {2, 2, true},  {2, 3, false},
      {2, 4, false}, {3, 2, false}, {3, 3, false}, {3, 4, false},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSoloWithLog(1, {1, 2, 3}, ents, 2);
    Message m = Msg(MessageType::kVote, 2, 1, 3);
    m.index = rows[i].index;
    m.log_term = rows[i].log_term;
    ASSERT_TRUE(s.raft->step(m).ok());
    auto resp = OfType(s.raft->take_messages(), MessageType::kVoteResp);
    ASSERT_EQ(resp.size(), 1u) << "#" << i;
    EXPECT_EQ(resp[0].reject, rows[i].reject) << "#" << i;
  }
}

// §5.4.2: "Raft never commits log entries from previous terms by counting replicas. Only log
// entries from the leader's current term are committed by counting replicas."
TEST(RaftPaperTest, LeaderOnlyCommitsLogFromCurrentTerm) {
  const std::vector<Entry> ents = {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}};
  struct Row {
    uint64_t index;
    uint64_t want_commit;
  };
  // The leader (term 3) appends its empty entry at 4; acks below 4 commit nothing.
  const std::vector<Row> rows = {{2, 1}, {3, 1}, {4, 4}};
  for (size_t i = 0; i < rows.size(); ++i) {
    Solo s = MakeSoloWithLog(1, {1, 2}, ents, 2);
    ElectLeader(*s.raft, *s.storage);
    ASSERT_EQ(s.raft->term(), 3u);
    Message r = Msg(MessageType::kAppResp, 2, 1, 3);
    r.index = rows[i].index;
    ASSERT_TRUE(s.raft->step(r).ok());
    EXPECT_EQ(s.raft->log().committed(), rows[i].want_commit) << "#" << i;
  }
}

// §5.4.2 / §8: a new leader appends an empty ("no-op") entry of its own term, so that entries of
// earlier terms can commit through it.
TEST(RaftPaperTest, NewLeaderAppendsEmptyEntryOfItsTerm) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.raft->become_candidate();
  s.raft->become_leader();
  auto ents = s.raft->log().unstable_entries();
  ASSERT_EQ(ents.size(), 1u);
  EXPECT_EQ(ents[0].term, s.raft->term());
  EXPECT_EQ(ents[0].index, 2u);
  EXPECT_TRUE(ents[0].data.empty());
}

// §5.4.3 (state machine safety, by way of leader completeness): a member whose log misses a
// committed entry cannot become leader, and every member applies the same entries in order.
TEST(RaftPaperTest, StaleMemberCannotWinAndAllApplySame) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  ASSERT_TRUE(c.propose(1, "a").ok());
  ASSERT_TRUE(c.propose(1, "b").ok());
  c.recover();
  c.isolate(1);  // 2 has a and b; 3 does not
  c.campaign(3);
  EXPECT_NE(c.raft(3).role(), Role::kLeader);
  c.campaign(2);
  EXPECT_EQ(c.raft(2).role(), Role::kLeader);
  c.recover();
  c.propose(2, "c");
  c.tick_all(2);
  std::vector<std::string> want;
  for (const Entry& e : c.peer(2).applied) want.push_back(e.data);
  for (NodeId id : {1, 3}) {
    std::vector<std::string> got;
    for (const Entry& e : c.peer(id).applied) got.push_back(e.data);
    EXPECT_EQ(got, want) << id;
  }
}

// §5.3: "When a leader first comes to power, it initializes all nextIndex values to the index
// just after the last one in its log."
TEST(RaftPaperTest, LeaderInitializesNextIndex) {
  const std::vector<Entry> ents = {{1, 2, EntryType::kNormal, ""}, {2, 3, EntryType::kNormal, ""}};
  Solo s = MakeSoloWithLog(1, {1, 2, 3}, ents, 2);
  s.raft->become_candidate();
  s.raft->become_leader();  // appends its empty entry at 4
  for (NodeId f : {2, 3}) {
    EXPECT_EQ(s.raft->tracker().get(f)->next, 4u) << f;
    EXPECT_EQ(s.raft->tracker().get(f)->match, 0u) << f;
  }
}

// §5.3: "If followers crash or run slowly, or if network packets are lost, the leader retries
// AppendEntries RPCs indefinitely until all followers eventually store all log entries."
TEST(RaftPaperTest, LeaderRetriesUntilReplicated) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  int dropped = 0;
  c.hook = [&](const Message& m) {
    if (m.to == 3 && m.type == MessageType::kApp && dropped < 5) {
      ++dropped;
      return false;
    }
    return true;
  };
  c.propose(1, "a");
  c.propose(1, "b");
  c.tick_all(10);
  EXPECT_EQ(dropped, 5);
  EXPECT_EQ(c.log_of(3), c.log_of(1));
}

// §5.5: "Raft RPCs are idempotent ... if a follower receives an AppendEntries request that
// includes log entries already present in its log, it ignores those entries in the new request."
TEST(RaftPaperTest, AppendEntriesIsIdempotent) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.raft->become_follower(2, 2);
  Message m;
  m.type = MessageType::kApp;
  m.from = 2;
  m.to = 1;
  m.term = 2;
  m.index = 1;
  m.log_term = 1;
  m.commit = 1;
  m.entries = {{2, 2, EntryType::kNormal, "a"}, {2, 3, EntryType::kNormal, "b"}};
  ASSERT_TRUE(s.raft->step(m).ok());
  Persist(*s.raft, *s.storage);
  const auto before = s.raft->log().all_entries();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(s.raft->step(m).ok());
  EXPECT_EQ(s.raft->log().all_entries(), before);
  EXPECT_TRUE(s.raft->log().unstable_entries().empty());  // nothing new to persist
  // A shorter, older copy does not truncate what follows either.
  Message older = m;
  older.entries.pop_back();
  ASSERT_TRUE(s.raft->step(older).ok());
  EXPECT_EQ(s.raft->log().last_index(), 3u);
}

}  // namespace
}  // namespace keel::raft::test
