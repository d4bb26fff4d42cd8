// Tests of the behaviours beyond the paper's §5: pre-vote, check quorum, leader leases,
// ReadIndex, leader transfer, learners, configuration changes, snapshots, flow control, fast
// backtracking, the proposal errors, and restart. Each cites the Raft dissertation section it
// checks ("Consensus: Bridging Theory and Practice", Ongaro 2014) and is init / act / check.
#include <gtest/gtest.h>

#include "test_cluster.h"

namespace keel::raft::test {
namespace {

auto WithPreVoteAndCheckQuorum(bool pre_vote, bool check_quorum) {
  return [=](Config& c) {
    c.pre_vote = pre_vote;
    c.check_quorum = check_quorum;
  };
}

std::vector<Message> OfType(const std::vector<Message>& ms, MessageType t) {
  std::vector<Message> out;
  for (const Message& m : ms) {
    if (m.type == t) out.push_back(m);
  }
  return out;
}

// §9.6: with pre-vote, a member partitioned away does not raise its term while isolated, so on
// rejoining it does not depose the leader.
TEST(RaftTest, PreVotePartitionedMemberDoesNotDisrupt) {
  // init
  Cluster c({1, 2, 3}, {}, WithPreVoteAndCheckQuorum(true, false));
  c.campaign(1);
  const uint64_t term = c.raft(1).term();
  c.isolate(3);
  // act: 3 times out again and again while isolated
  for (int i = 0; i < 5; ++i) c.campaign(3);
  EXPECT_EQ(c.raft(3).term(), term);
  EXPECT_EQ(c.raft(3).role(), Role::kPreCandidate);
  c.recover();
  c.tick_all(3);
  // check
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(1).term(), term);
  EXPECT_EQ(c.raft(3).role(), Role::kFollower);
  EXPECT_EQ(c.raft(3).lead(), 1u);
}

// §9.6 (contrast): without pre-vote, the rejoining member's higher term forces an election.
TEST(RaftTest, WithoutPreVoteRejoiningMemberRaisesTerm) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  const uint64_t term = c.raft(1).term();
  c.isolate(3);
  c.campaign(3);
  c.campaign(3);
  c.recover();
  c.campaign(3);  // its next timeout: a vote request with a term above the leader's
  EXPECT_GT(c.raft(1).term(), term);
  EXPECT_NE(c.raft(1).role(), Role::kLeader);
}

// §9.6: a pre-candidate that wins its pre-election proceeds to a real election and wins it.
TEST(RaftTest, PreVoteThenVote) {
  Cluster c({1, 2, 3}, {}, WithPreVoteAndCheckQuorum(true, false));
  c.campaign(1);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
  EXPECT_EQ(c.raft(1).term(), 2u);
  EXPECT_EQ(c.raft(2).term(), 2u);
}

// §6.2: "a leader steps down if an election timeout elapses without a successful round of
// heartbeats to a majority of its cluster" (CheckQuorum).
TEST(RaftTest, CheckQuorumLeaderStepsDown) {
  Cluster c({1, 2, 3}, {}, WithPreVoteAndCheckQuorum(false, true));
  c.campaign(1);
  c.isolate(1);
  for (int i = 0; i < 2 * 10 + 1; ++i) {
    c.tick(1);
    c.stabilize();
  }
  EXPECT_EQ(c.raft(1).role(), Role::kFollower);
  EXPECT_EQ(c.raft(1).lead(), kNone);
}

// §6.2: a leader that hears from a quorum keeps leading across many election timeouts.
TEST(RaftTest, CheckQuorumLeaderStaysWithQuorum) {
  Cluster c({1, 2, 3}, {}, WithPreVoteAndCheckQuorum(false, true));
  c.campaign(1);
  c.isolate(3);
  c.tick_all(50);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
}

// §4.2.3: a member that heard from a current leader within the minimum election timeout ignores
// vote requests (with CheckQuorum), so a removed or partitioned member cannot disrupt.
TEST(RaftTest, LeaderLeaseIgnoresVotes) {
  Cluster c({1, 2, 3}, {}, WithPreVoteAndCheckQuorum(false, true));
  c.campaign(1);
  const uint64_t term = c.raft(1).term();
  Message v;
  v.type = MessageType::kVote;
  v.from = 3;
  v.to = 2;
  v.term = term + 5;
  v.index = 100;
  v.log_term = term + 4;
  ASSERT_TRUE(c.node(2).step(v).ok());
  EXPECT_EQ(c.raft(2).term(), term);
  // No answer at all: neither a vote nor a refusal (one Ready holds whatever the step produced).
  EXPECT_TRUE(OfType(c.process_ready(2, false), MessageType::kVoteResp).empty());
  EXPECT_EQ(c.raft(2).lead(), 1u);
}

// §6.4: ReadIndex on the leader: one heartbeat round confirms leadership, then the read is
// answered at the commit index recorded when it arrived.
TEST(RaftTest, ReadIndexOnLeader) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.propose(1, "a");
  ASSERT_TRUE(c.node(1).read_index("ctx1").ok());
  c.stabilize();
  ASSERT_EQ(c.peer(1).reads.size(), 1u);
  EXPECT_EQ(c.peer(1).reads[0].index, 3u);
  EXPECT_EQ(c.peer(1).reads[0].request_ctx, "ctx1");
}

// §6.4: many reads queued before the leader's messages are collected share one heartbeat round.
TEST(RaftTest, ReadIndexBatchesShareOneHeartbeatRound) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.node(1).read_index("r" + std::to_string(i)).ok());
  auto msgs = c.process_ready(1);
  EXPECT_EQ(OfType(msgs, MessageType::kHeartbeat).size(), 2u);  // one per follower, not 20
  c.stabilize();
  EXPECT_EQ(c.peer(1).reads.size(), 10u);
}

// §6.4: a follower forwards the read to the leader and gets the read index back.
TEST(RaftTest, ReadIndexOnFollower) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.propose(1, "a");
  ASSERT_TRUE(c.node(2).read_index("f").ok());
  c.stabilize();
  ASSERT_EQ(c.peer(2).reads.size(), 1u);
  EXPECT_EQ(c.peer(2).reads[0].index, 3u);
  EXPECT_TRUE(c.peer(1).reads.empty());
}

// §6.4 step 1: a new leader answers reads only after an entry of its term commits (its commit
// index may lag what earlier leaders committed until then).
TEST(RaftTest, ReadIndexWaitsForCommitInTerm) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.ignore(MessageType::kAppResp);
  c.campaign(2);  // 2 leads, but its empty entry cannot commit
  ASSERT_EQ(c.raft(2).role(), Role::kLeader);
  ASSERT_TRUE(c.node(2).read_index("early").ok());
  c.stabilize();
  EXPECT_TRUE(c.peer(2).reads.empty());
  c.recover();
  c.tick_all(2);
  ASSERT_EQ(c.peer(2).reads.size(), 1u);
  EXPECT_EQ(c.peer(2).reads[0].index, c.raft(2).log().committed());
}

// §6.4: a read needs a quorum's heartbeat acknowledgement; a leader cut off from the quorum
// never answers.
TEST(RaftTest, ReadIndexNeedsQuorum) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(1);
  ASSERT_TRUE(c.node(1).read_index("lonely").ok());
  c.stabilize();
  c.tick(1, 3);
  c.stabilize();
  EXPECT_TRUE(c.peer(1).reads.empty());
}

// §6.4: with no leader known, a read cannot be forwarded.
TEST(RaftTest, ReadIndexWithoutLeaderFails) {
  Cluster c({1, 2, 3});
  EXPECT_TRUE(IsNoLeader(c.node(2).read_index("x")));
}

// §3.10: leader transfer to an up-to-date follower: TimeoutNow, the target wins at once.
TEST(RaftTest, LeaderTransferToUpToDateNode) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.node(1).transfer_leader(2);
  c.stabilize();
  EXPECT_EQ(c.raft(2).role(), Role::kLeader);
  EXPECT_EQ(c.raft(1).role(), Role::kFollower);
  EXPECT_EQ(c.raft(1).lead(), 2u);
}

// §3.10: a transfer requested at a follower is forwarded to the leader.
TEST(RaftTest, LeaderTransferFromFollower) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.node(3).transfer_leader(2);
  c.stabilize();
  EXPECT_EQ(c.raft(2).role(), Role::kLeader);
}

// §3.10: the leader first brings a lagging target up to date, then sends TimeoutNow; meanwhile
// it refuses proposals with a distinct error.
TEST(RaftTest, LeaderTransferToLaggingNode) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  c.propose(1, "a");
  c.propose(1, "b");
  c.recover();
  c.ignore(MessageType::kApp);  // hold 3 back while the transfer starts
  c.node(1).transfer_leader(3);
  c.stabilize();
  EXPECT_EQ(c.raft(1).lead_transferee(), 3u);
  EXPECT_TRUE(IsTransferInProgress(c.node(1).propose("refused")));
  c.recover();
  c.tick_all(1);  // heartbeat -> 3 answers -> append -> caught up -> TimeoutNow
  EXPECT_EQ(c.raft(3).role(), Role::kLeader);
  EXPECT_EQ(c.log_of(3).size(), c.log_of(1).size());
}

// §3.10: a transfer that does not complete within an election timeout is abandoned.
TEST(RaftTest, LeaderTransferTimesOut) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  c.node(1).transfer_leader(3);
  c.stabilize();
  ASSERT_EQ(c.raft(1).lead_transferee(), 3u);
  for (int i = 0; i < 10; ++i) {
    c.tick(1);
    c.stabilize();
  }
  EXPECT_EQ(c.raft(1).lead_transferee(), kNone);
  EXPECT_TRUE(c.node(1).propose("ok again").ok());
}

// §3.10: transferring to itself, or to a learner, is ignored.
TEST(RaftTest, LeaderTransferIgnoredCases) {
  Cluster c({1, 2, 3}, {4});
  c.campaign(1);
  c.node(1).transfer_leader(1);
  c.stabilize();
  EXPECT_EQ(c.raft(1).lead_transferee(), kNone);
  c.node(1).transfer_leader(4);
  c.stabilize();
  EXPECT_EQ(c.raft(1).lead_transferee(), kNone);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
}

// Proposals with no leader are refused with their own error (distinct from the transfer one).
TEST(RaftTest, ProposalWithoutLeader) {
  Cluster c({1, 2, 3});
  Status s = c.node(2).propose("x");
  EXPECT_TRUE(IsNoLeader(s));
  EXPECT_FALSE(IsTransferInProgress(s));
}

// Proposals made between two Readies travel to each follower in one append (batching).
TEST(RaftTest, ProposalsBatchIntoOneAppend) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.node(1).propose("p" + std::to_string(i)).ok());
  auto apps = OfType(c.process_ready(1), MessageType::kApp);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].entries.size(), 50u);
  c.stabilize();
  EXPECT_EQ(c.peer(2).applied.back().data, "p49");
}

// etcd's MaxUncommittedEntriesSize: a leader that cannot commit stops taking proposals once the
// uncommitted data passes the limit, and takes them again once entries apply.
TEST(RaftTest, UncommittedSizeLimit) {
  Cluster c({1, 2, 3}, {}, [](Config& cfg) { cfg.max_uncommitted_entries_size = 100; });
  c.campaign(1);
  c.isolate(1);
  const std::string v(40, 'v');
  EXPECT_TRUE(c.node(1).propose(v).ok());
  EXPECT_TRUE(c.node(1).propose(v).ok());
  EXPECT_TRUE(IsProposalDropped(c.node(1).propose(v)));  // 120 > 100
  c.stabilize();
  c.recover();
  c.tick_all(2);  // both commit and apply
  EXPECT_EQ(c.raft(1).uncommitted_size(), 0u);
  EXPECT_TRUE(c.node(1).propose(v).ok());
  // A single proposal larger than the limit still goes through when nothing is pending.
  c.stabilize();
  EXPECT_TRUE(c.node(1).propose(std::string(500, 'x')).ok());
}

// Proposals at a follower are forwarded to the leader.
TEST(RaftTest, ProposalForwarded) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  ASSERT_TRUE(c.propose(2, "via follower").ok());
  EXPECT_EQ(c.peer(1).applied.back().data, "via follower");
}

// §4.2.1: learners receive the log but never vote and never count toward a quorum.
TEST(RaftTest, LearnerReceivesLogButDoesNotCount) {
  Cluster c({1, 2}, {3});
  c.campaign(1);
  c.propose(1, "a");
  EXPECT_EQ(c.peer(3).applied.back().data, "a");
  // With 2 cut off, the learner cannot make a quorum with 1.
  c.isolate(2);
  c.propose(1, "b");
  EXPECT_EQ(c.raft(1).log().committed(), 3u);
  // A learner never campaigns, however long it waits.
  c.recover();
  c.isolate(1);
  for (int i = 0; i < 50; ++i) c.tick(3);
  c.stabilize();
  EXPECT_EQ(c.raft(3).role(), Role::kFollower);
  EXPECT_EQ(c.raft(3).term(), c.raft(2).term());
}

// §4.1/§4.2.1: a learner promoted to voter counts once the change is applied.
TEST(RaftTest, LearnerPromotion) {
  Cluster c({1, 2}, {3});
  c.campaign(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kAddVoter, 3, ""}).ok());
  c.stabilize();
  EXPECT_TRUE(c.raft(1).tracker().is_voter(3));
  EXPECT_TRUE(c.raft(3).tracker().is_voter(3));
  EXPECT_FALSE(c.raft(3).is_learner());
  c.isolate(2);  // now 1 and 3 are a quorum of 3
  c.propose(1, "b");
  EXPECT_EQ(c.peer(1).applied.back().data, "b");
}

// §4.1: configuration changes take effect when applied, and only one may be pending.
TEST(RaftTest, OneConfChangePending) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.ignore(MessageType::kApp);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kAddLearner, 4, ""}).ok());
  c.stabilize();
  EXPECT_FALSE(c.raft(1).tracker().is_member(4));  // not applied yet
  Status s = c.node(1).propose_conf_change({ConfChangeType::kAddLearner, 5, ""});
  EXPECT_TRUE(IsConfChangePending(s)) << s.to_string();
  c.recover();
  c.tick_all(2);
  EXPECT_TRUE(c.raft(1).tracker().is_learner(4));
  EXPECT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kAddLearner, 5, ""}).ok());
}

// §4.2.2: a leader removed from the configuration steps down once the removal applies.
TEST(RaftTest, RemovedLeaderStepsDown) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kRemoveNode, 1, ""}).ok());
  c.stabilize();
  EXPECT_NE(c.raft(1).role(), Role::kLeader);
  EXPECT_FALSE(c.raft(2).tracker().is_member(1));
  // The others elect a new leader among themselves and go on.
  c.campaign(2);
  EXPECT_EQ(c.raft(2).role(), Role::kLeader);
  ASSERT_TRUE(c.propose(2, "after").ok());
  EXPECT_EQ(c.peer(3).applied.back().data, "after");
}

// §4.1: removing a voter shrinks the quorum, so entries waiting on it commit.
TEST(RaftTest, RemoveVoterShrinksQuorum) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  ASSERT_TRUE(c.node(1).propose_conf_change({ConfChangeType::kRemoveNode, 3, ""}).ok());
  c.stabilize();
  c.isolate(2);  // now only 1; a quorum of {1, 2} needs 2 as well
  c.propose(1, "x");
  EXPECT_NE(c.peer(1).applied.back().data, "x");
  c.recover();
  c.isolate(3);
  c.tick_all(2);
  EXPECT_EQ(c.peer(1).applied.back().data, "x");
}

// Removing every voter is refused when applied; the configuration is unchanged.
TEST(RaftTest, ApplyRefusesRemovingAllVoters) {
  Solo s = MakeSolo(1, {1});
  auto r = s.raft->apply_conf_change({ConfChangeType::kRemoveNode, 1, ""});
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(s.raft->tracker().is_voter(1));
}

// §5.3 optimization / §3.5: fast backtracking skips a whole conflicting term per round trip.
TEST(RaftTest, FastBacktracking) {
  // The follower has 10 entries of term 2 the leader never had.
  Cluster c({1, 2, 3});
  std::vector<Entry> stale;
  for (uint64_t i = 2; i <= 11; ++i) stale.push_back(Entry{2, i, EntryType::kNormal, "stale"});
  ASSERT_TRUE(c.peer(2).storage->append(stale).ok());
  for (NodeId id : {1, 2, 3}) {
    c.peer(id).storage->set_hard_state(HardState{2, kNone, 1});
    c.restart(id);
  }
  c.isolate(2);
  c.campaign(1);  // term 3 with 3's vote
  for (int i = 0; i < 10; ++i) c.propose(1, "t3");
  // A new leader starts every follower at next = its last index + 1 (13): far past 2's match.
  c.campaign(3);
  ASSERT_EQ(c.raft(3).role(), Role::kLeader);
  c.recover();
  int rejects = 0;
  c.hook = [&](const Message& m) {
    if (m.type == MessageType::kAppResp && m.reject) ++rejects;
    return true;
  };
  c.propose(3, "new");
  c.tick_all(2);
  // Without the hint, 2 would reject once per stale entry (10 times).
  EXPECT_GE(rejects, 1);
  EXPECT_LE(rejects, 2);
  EXPECT_EQ(c.log_of(3), c.log_of(2));
}

// §3.5 / etcd flow control: in replicate mode at most max_inflight_msgs appends are in flight.
TEST(RaftTest, InflightCap) {
  Cluster c({1, 2}, {}, [](Config& cfg) { cfg.max_inflight_msgs = 3; });
  c.campaign(1);
  c.ignore(MessageType::kAppResp);
  size_t apps = 0;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(c.node(1).propose("p" + std::to_string(i)).ok());
    apps += OfType(c.process_ready(1, false), MessageType::kApp).size();
  }
  EXPECT_EQ(apps, 3u);
  EXPECT_TRUE(c.raft(1).tracker().get(2)->is_paused());
}

// etcd flow control: an append carries at most max_size_per_msg bytes (but at least one entry).
TEST(RaftTest, MaxSizePerMessage) {
  Cluster c({1, 2}, {}, [](Config& cfg) { cfg.max_size_per_msg = 100; });
  c.campaign(1);
  c.isolate(2);
  for (int i = 0; i < 5; ++i) c.propose(1, std::string(60, 'a' + static_cast<char>(i)));
  c.recover();
  size_t max_entries = 0;
  c.hook = [&](const Message& m) {
    if (m.type == MessageType::kApp) max_entries = std::max(max_entries, m.entries.size());
    return true;
  };
  c.tick_all(3);
  EXPECT_EQ(max_entries, 1u);
  EXPECT_EQ(c.log_of(1), c.log_of(2));
}

// §5.2/§6.2: heartbeats carry min(follower match, leader commit), never more.
TEST(RaftTest, HeartbeatCommitIsCapped) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.isolate(3);
  c.propose(1, "a");
  c.recover();
  c.ignore(MessageType::kApp);
  std::map<NodeId, uint64_t> commits;
  c.hook = [&](const Message& m) {
    if (m.type == MessageType::kHeartbeat) commits[m.to] = m.commit;
    return true;
  };
  c.tick(1);
  c.stabilize();
  EXPECT_EQ(commits[2], 3u);
  EXPECT_EQ(commits[3], 2u);  // 3 matches only up to the empty entry
}

// §5.2/§3.8: a restarted member keeps its term, vote and log (they were persisted).
TEST(RaftTest, RestartKeepsPersistentState) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  c.propose(1, "a");
  const uint64_t term = c.raft(2).term();
  const auto log = c.log_of(2);
  c.restart(2);
  EXPECT_EQ(c.raft(2).term(), term);
  EXPECT_EQ(c.raft(2).vote(), 1u);
  EXPECT_EQ(c.log_of(2), log);
  EXPECT_EQ(c.raft(2).log().committed(), 3u);
}

// §5.1/§5.2: a single-member cluster elects itself and commits alone (after persisting).
TEST(RaftTest, SingleMember) {
  Cluster c({1});
  c.campaign(1);
  EXPECT_EQ(c.raft(1).role(), Role::kLeader);
  ASSERT_TRUE(c.propose(1, "solo").ok());
  EXPECT_EQ(c.peer(1).applied.back().data, "solo");
  ASSERT_TRUE(c.node(1).read_index("r").ok());
  c.stabilize();
  EXPECT_EQ(c.peer(1).reads.size(), 1u);
}

// §10.2.1: the leader counts its own copy of an entry only once the driver persisted it, so a
// commit never relies on an entry only in the leader's memory.
TEST(RaftTest, LeaderCountsItselfOnlyAfterPersisting) {
  Solo s = MakeSolo(1, {1, 2, 3});
  s.raft->become_candidate();
  s.raft->become_leader();
  Message r;
  r.type = MessageType::kAppResp;
  r.from = 2;
  r.to = 1;
  r.term = s.raft->term();
  r.index = 2;
  ASSERT_TRUE(s.raft->step(r).ok());
  // Only 2 holds it durably: 1 copy of 3 is no quorum.
  EXPECT_EQ(s.raft->log().committed(), 1u);
  Persist(*s.raft, *s.storage);
  EXPECT_EQ(s.raft->log().committed(), 2u);
  Solo t = MakeSolo(1, {1, 2, 3, 4, 5});
  t.raft->become_candidate();
  t.raft->become_leader();
  r.term = t.raft->term();
  ASSERT_TRUE(t.raft->step(r).ok());
  r.from = 3;
  ASSERT_TRUE(t.raft->step(r).ok());
  EXPECT_EQ(t.raft->log().committed(), 1u);  // 2 of 5 durable: not yet
  Persist(*t.raft, *t.storage);
  EXPECT_EQ(t.raft->log().committed(), 2u);  // 3 of 5 once the leader's copy is durable
}

// §10.2.1: a leader may send appends before its write completes — but not in the Ready that
// made it leader of a new term (its term and vote are not durable yet; a crash could let it lead
// the same term twice with different entries).
TEST(RaftTest, LeaderMaySendEarlyOnlyWithDurableTermAndVote) {
  Cluster c({1}, {2});
  c.node(1).campaign();  // a single voter: candidate and leader in one Ready
  Ready rd = c.node(1).ready();
  ASSERT_TRUE(rd.soft_state.has_value());
  EXPECT_EQ(rd.soft_state->role, Role::kLeader);
  EXPECT_FALSE(rd.leader_may_send_early);
  ASSERT_TRUE(c.peer(1).storage->append(rd.entries).ok());
  c.peer(1).storage->set_hard_state(*rd.hard_state);
  c.node(1).advance();
  c.stabilize();
  ASSERT_TRUE(c.node(1).propose("x").ok());
  Ready next = c.node(1).ready();
  EXPECT_TRUE(next.leader_may_send_early);
  EXPECT_FALSE(IsEarlySendable(MessageType::kVoteResp));
  EXPECT_FALSE(IsEarlySendable(MessageType::kAppResp));
  EXPECT_TRUE(IsEarlySendable(MessageType::kApp));
}

// RawNode's refusals: local messages, termless network messages, unknown responders, and
// invalid configurations, each with its own error.
TEST(RaftTest, RawNodeRefusals) {
  Cluster c({1, 2, 3});
  c.campaign(1);
  Message m;
  m.type = MessageType::kHup;
  m.term = 5;
  EXPECT_EQ(c.node(1).step(m), ErrStepLocalMsg());
  m.type = MessageType::kApp;
  m.term = 0;
  EXPECT_TRUE(c.node(2).step(m).is_invalid_argument());
  m.type = MessageType::kAppResp;
  m.from = 9;
  m.term = c.raft(1).term();
  EXPECT_EQ(c.node(1).step(m), ErrStepPeerNotFound());

  MemoryStorage s;
  SplitMix64 rng(1);
  Config cfg;
  cfg.storage = &s;
  cfg.random = &rng;
  EXPECT_TRUE(RawNode::Create(cfg).status().is_invalid_argument());  // id 0
  cfg.id = 1;
  cfg.election_tick = 1;
  EXPECT_TRUE(RawNode::Create(cfg).status().is_invalid_argument());  // election <= heartbeat
  cfg.election_tick = 10;
  cfg.random = nullptr;
  EXPECT_TRUE(RawNode::Create(cfg).status().is_invalid_argument());
  cfg.random = &rng;
  EXPECT_TRUE(RawNode::Create(cfg).ok());
}

}  // namespace
}  // namespace keel::raft::test
