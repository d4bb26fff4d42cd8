// The failpoints' terms (etcd's gofail terms): what each does when reached, how a count and a
// chance are spent, which names exist, and that a bad term changes nothing.
#include "failpoint/failpoint.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

namespace keel::failpoint {
namespace {

class FailpointTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(set_all("").ok()); }
  void TearDown() override { ASSERT_TRUE(set_all("").ok()); }
};

TEST_F(FailpointTest, NoneIsOnAtFirstAndReachingOneThenDoesNothing) {
  EXPECT_TRUE(list().empty());
  EXPECT_EQ(evaluate(kRaftBeforeSave).action, Action::kNone);
  reach(kRaftBeforeSave);  // returns
}

TEST_F(FailpointTest, EachActionIsWhatTheTermSays) {
  ASSERT_TRUE(set(kRaftBeforeSave, "sleep(25)").ok());
  ASSERT_TRUE(set(kAfterCommit, "panic").ok());
  ASSERT_TRUE(set("peerSend/2", "drop").ok());
  Hit sleep = evaluate(kRaftBeforeSave);
  EXPECT_EQ(sleep.action, Action::kSleep);
  EXPECT_EQ(sleep.sleep, std::chrono::milliseconds(25));
  EXPECT_EQ(evaluate(kAfterCommit).action, Action::kPanic);
  EXPECT_EQ(evaluate_link(kPeerSend, 2).action, Action::kDrop);
  EXPECT_EQ(evaluate_link(kPeerSend, 3).action, Action::kNone) << "another peer's link";
  EXPECT_EQ(evaluate_link(kPeerRecv, 2).action, Action::kNone) << "the other direction";
  // Without a count, a failpoint stays on.
  EXPECT_EQ(evaluate(kRaftBeforeSave).action, Action::kSleep);
  ASSERT_TRUE(set(kRaftBeforeSave, "sleep(100ms)").ok());
  EXPECT_EQ(evaluate(kRaftBeforeSave).sleep, std::chrono::milliseconds(100));
}

TEST_F(FailpointTest, ACountIsSpentByTheTimesItActsThenTheFailpointIsOff) {
  ASSERT_TRUE(set(kBeforeCommit, "2*drop").ok());
  EXPECT_EQ(evaluate(kBeforeCommit).action, Action::kDrop);
  EXPECT_EQ(list(), std::vector<std::string>{"beforeCommit=2*drop"});
  EXPECT_EQ(evaluate(kBeforeCommit).action, Action::kDrop);
  EXPECT_EQ(evaluate(kBeforeCommit).action, Action::kNone);
  EXPECT_TRUE(list().empty());
}

TEST_F(FailpointTest, AChanceOfNoneNeverActsAndOfAllAlwaysDoes) {
  ASSERT_TRUE(set(kBeforeCommit, "0%drop").ok());
  ASSERT_TRUE(set(kAfterCommit, "100%1000*drop").ok());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(evaluate(kBeforeCommit).action, Action::kNone);
    ASSERT_EQ(evaluate(kAfterCommit).action, Action::kDrop);
  }
  EXPECT_EQ(list(), std::vector<std::string>{"beforeCommit=0%drop"}) << "1000 acts spend a count of 1000";
}

TEST_F(FailpointTest, AChanceActsOnSomeReachesAndNotOnOthers) {
  ASSERT_TRUE(set("peerRecv/7", "50%drop").ok());
  int acted = 0;
  for (int i = 0; i < 4000; ++i) acted += evaluate_link(kPeerRecv, 7).action == Action::kDrop;
  // Far outside these bounds only with a chance below 1e-30.
  EXPECT_GT(acted, 1400);
  EXPECT_LT(acted, 2600);
}

TEST_F(FailpointTest, PeerLinksAreNamedByTheirIdInHexWhicheverWayItIsWritten) {
  EXPECT_EQ(peer_link(kPeerSend, 0x8e9e05c52164694dULL), "peerSend/8e9e05c52164694d");
  EXPECT_EQ(peer_link(kPeerRecv, 0x2a), "peerRecv/000000000000002a");
  ASSERT_TRUE(set("peerRecv/2A", "drop").ok());
  EXPECT_EQ(list(), std::vector<std::string>{"peerRecv/000000000000002a=drop"});
  EXPECT_EQ(evaluate_link(kPeerRecv, 42).action, Action::kDrop);
}

TEST_F(FailpointTest, OffSwitchesOneOff) {
  ASSERT_TRUE(set(kRaftAfterSave, "panic").ok());
  ASSERT_TRUE(set(kRaftBeforeSave, "panic").ok());
  ASSERT_TRUE(set(kRaftAfterSave, "off").ok());
  EXPECT_EQ(list(), std::vector<std::string>{"raftBeforeSave=panic"});
  ASSERT_TRUE(set(kRaftBeforeApplySnap, "off").ok()) << "switching off what is off is fine";
}

TEST_F(FailpointTest, AnUnknownNameOrABadTermIsRefusedAndChangesNothing) {
  ASSERT_TRUE(set(kRaftBeforeSave, "sleep(5)").ok());
  const std::vector<std::string> before = list();
  struct Bad {
    const char* name;
    const char* term;
    const char* says;
  };
  for (const Bad& bad : {
           Bad{"raftBeforeSaev", "panic", "no failpoint is named raftBeforeSaev"},
           Bad{"peerSend/", "drop", "no failpoint is named peerSend/"},
           Bad{"peerSend/xyz", "drop", "the peer id is not a member id in hex"},
           Bad{"peerSend/0", "drop", "the peer id is not a member id in hex"},
           Bad{"peerSend/12345678901234567", "drop", "the peer id is not a member id in hex"},
           Bad{"raftBeforeSave", "crash", "the action must be panic, sleep(ms), drop or off"},
           Bad{"raftBeforeSave", "", "the action must be panic, sleep(ms), drop or off"},
           Bad{"raftBeforeSave", "sleep(-1)", "sleep takes milliseconds"},
           Bad{"raftBeforeSave", "sleep(x)", "sleep takes milliseconds"},
           Bad{"raftBeforeSave", "101%drop", "the percentage must be a number from 0 to 100"},
           Bad{"raftBeforeSave", "a%drop", "the percentage must be a number from 0 to 100"},
           Bad{"raftBeforeSave", "0*drop", "the count must be a whole number above 0"},
           Bad{"raftBeforeSave", "2.5*drop", "the count must be a whole number above 0"},
       }) {
    Status s = set(bad.name, bad.term);
    EXPECT_TRUE(s.is_invalid_argument()) << bad.name << "=" << bad.term;
    EXPECT_NE(s.message().find(bad.says), std::string::npos) << s.to_string();
    EXPECT_EQ(list(), before) << bad.name << "=" << bad.term;
  }
}

TEST_F(FailpointTest, SetAllReplacesEverythingOrNothing) {
  ASSERT_TRUE(set(kRaftBeforeSave, "panic").ok());
  ASSERT_TRUE(set_all(" beforeCommit = sleep(10) ;\n# a comment\n\nafterCommit=drop;afterCommit=off;peerSend/a=3*drop").ok());
  EXPECT_EQ(list(), (std::vector<std::string>{"beforeCommit=sleep(10)", "peerSend/000000000000000a=3*drop"}));
  Status s = set_all("raftAfterSave=panic;nonsense");
  EXPECT_TRUE(s.is_invalid_argument());
  EXPECT_NE(s.message().find("\"nonsense\" is not name=term"), std::string::npos) << s.to_string();
  EXPECT_EQ(list(), (std::vector<std::string>{"beforeCommit=sleep(10)", "peerSend/000000000000000a=3*drop"}));
  ASSERT_TRUE(set_all("").ok());
  EXPECT_TRUE(list().empty());
}

TEST_F(FailpointTest, PanicKillsTheProcessWithSigkill) {
  ASSERT_TRUE(set(kAfterCommit, "panic").ok());
  EXPECT_EXIT(reach(kAfterCommit), ::testing::KilledBySignal(SIGKILL), "failpoint afterCommit: panic");
  ASSERT_TRUE(set("peerSend/5", "panic").ok());
  EXPECT_EXIT(evaluate_link(kPeerSend, 5), ::testing::KilledBySignal(SIGKILL),
              "failpoint peerSend/0000000000000005: panic");
}

}  // namespace
}  // namespace keel::failpoint
