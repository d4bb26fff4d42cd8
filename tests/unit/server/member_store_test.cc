// The MemberStore over a real MVCC store on each backend plugin: the initial members recorded
// once, a member's published attributes, a member it does not know left out, configuration
// changes applied as Raft applies them, MemberUpdate and etcd's checks before a change,
// everything kept across a restart, and a damaged record refused.
#include <gtest/gtest.h>

#include "mvcc_test_util.h"
#include "server/member_store.h"

namespace keel::server {
namespace {

class MemberStoreTest : public mvcc::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    open_members();
  }
  void TearDown() override {
    members_.reset();
    StoreTest::TearDown();
  }
  void open_members() {
    auto m = MemberStore::open(store());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    members_ = std::move(*m);
  }
  void restart() {
    members_.reset();
    ASSERT_OK(store().force_commit());
    reopen();
    open_members();
  }

  std::unique_ptr<MemberStore> members_;
};

const std::vector<Member> kInitial = {
    {0x30, "infra3", {"http://127.0.0.1:2382"}, {}, false},
    {0x10, "infra1", {"http://127.0.0.1:2380", "http://10.0.0.1:2380"}, {}, false},
    {0x20, "infra2", {"http://127.0.0.1:2381"}, {}, false},
};

TEST_P(MemberStoreTest, BootstrapRecordsTheInitialMembersOnce) {
  EXPECT_TRUE(members_->list().empty());
  ASSERT_OK(members_->bootstrap(kInitial));
  std::vector<Member> listed = members_->list();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0], kInitial[1]);  // by id
  EXPECT_EQ(listed[1], kInitial[2]);
  EXPECT_EQ(listed[2], kInitial[0]);
  // A restart's bootstrap (from flags that may have changed since) changes nothing.
  restart();
  ASSERT_OK(members_->bootstrap({{0x99, "other", {"http://127.0.0.1:9"}, {}, false}}));
  EXPECT_EQ(members_->list(), listed);
  EXPECT_FALSE(members_->find(0x99).has_value());
}

TEST_P(MemberStoreTest, PublishedAttributesAreKept) {
  ASSERT_OK(members_->bootstrap(kInitial));
  ASSERT_OK(members_->apply(MemberAttributesRequest{0x20, "renamed", {"http://127.0.0.1:2379"}}, 5));
  // A member the cluster does not know is left out, and the entry still counts as applied.
  ASSERT_OK(members_->apply(MemberAttributesRequest{0x77, "stranger", {"http://x:1"}}, 6));
  EXPECT_EQ(store().consistent_index(), 6u);
  auto check = [&] {
    std::optional<Member> m = members_->find(0x20);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->name, "renamed");
    EXPECT_EQ(m->client_urls, std::vector<std::string>{"http://127.0.0.1:2379"});
    EXPECT_EQ(m->peer_urls, kInitial[2].peer_urls);
    EXPECT_FALSE(members_->find(0x77).has_value());
  };
  check();
  restart();
  check();
}

// A removal's record: only the id matters.
Member gone(uint64_t id) { return Member{id, "", {}, {}, false}; }

raft::ConfChange change(raft::ConfChangeType type, uint64_t id) {
  raft::ConfChange cc;
  cc.type = type;
  cc.node_id = id;
  return cc;
}

TEST_P(MemberStoreTest, ConfChangesAddPromoteAndRemoveAsRaftDoes) {
  ASSERT_OK(members_->bootstrap(kInitial));
  const Member learner{0x40, "", {"http://127.0.0.1:2383"}, {}, true};
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kAddLearner, 0x40), learner, 7));
  EXPECT_EQ(store().consistent_index(), 7u);
  ASSERT_TRUE(members_->find(0x40).has_value());
  EXPECT_TRUE(members_->find(0x40)->is_learner);
  // Adding it as a learner again changes nothing (Raft ignores it too).
  Member renamed = learner;
  renamed.peer_urls = {"http://elsewhere:1"};
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kAddLearner, 0x40), renamed, 8));
  EXPECT_EQ(members_->find(0x40)->peer_urls, learner.peer_urls);
  // kAddVoter of a learner promotes it, keeping its record.
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kAddVoter, 0x40), renamed, 9));
  EXPECT_FALSE(members_->find(0x40)->is_learner);
  EXPECT_EQ(members_->find(0x40)->peer_urls, learner.peer_urls);
  // A removal is for good.
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kRemoveNode, 0x20), gone(0x20), 10));
  EXPECT_FALSE(members_->find(0x20).has_value());
  EXPECT_TRUE(members_->is_removed(0x20));
  EXPECT_FALSE(members_->is_removed(0x10));
  EXPECT_EQ(store().consistent_index(), 10u);
  const std::vector<Member> listed = members_->list();
  ASSERT_EQ(listed.size(), 3u);
  restart();
  EXPECT_EQ(members_->list(), listed);
  EXPECT_TRUE(members_->is_removed(0x20));
}

TEST_P(MemberStoreTest, TheLastVoterIsNotRemoved) {
  ASSERT_OK(members_->bootstrap({kInitial[0]}));
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kAddLearner, 0x40),
                                        Member{0x40, "", {"http://l:1"}, {}, true}, 5));
  // Raft refuses to remove the only voter; the members stay as Raft's.
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kRemoveNode, 0x30), gone(0x30), 6));
  EXPECT_TRUE(members_->find(0x30).has_value());
  EXPECT_FALSE(members_->is_removed(0x30));
  // Removing an unknown member changes nothing but the index.
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kRemoveNode, 0x99), gone(0x99), 7));
  EXPECT_EQ(members_->list().size(), 2u);
  EXPECT_FALSE(members_->is_removed(0x99));
  EXPECT_EQ(store().consistent_index(), 7u);
}

TEST_P(MemberStoreTest, UpdateGivesNewPeerUrlsOrEtcdsRefusal) {
  ASSERT_OK(members_->bootstrap(kInitial));
  ASSERT_OK(members_->apply(MemberUpdateRequest{0x20, {"http://127.0.0.1:3381"}}, 5));
  EXPECT_EQ(members_->find(0x20)->peer_urls, std::vector<std::string>{"http://127.0.0.1:3381"});
  // Its own URLs again are no conflict.
  ASSERT_OK(members_->apply(MemberUpdateRequest{0x20, {"http://127.0.0.1:3381"}}, 6));
  Status taken = members_->apply(MemberUpdateRequest{0x20, {"http://127.0.0.1:2382"}}, 7);
  EXPECT_EQ(taken.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(taken.message(), "etcdserver: Peer URLs already exists");
  Status unknown = members_->apply(MemberUpdateRequest{0x99, {"http://x:1"}}, 8);
  EXPECT_EQ(unknown.code(), Status::Code::kNotFound);
  EXPECT_EQ(unknown.message(), "etcdserver: member not found");
  EXPECT_EQ(store().consistent_index(), 8u);
  restart();
  EXPECT_EQ(members_->find(0x20)->peer_urls, std::vector<std::string>{"http://127.0.0.1:3381"});
}

TEST_P(MemberStoreTest, ChecksRefuseAsEtcd) {
  ASSERT_OK(members_->bootstrap(kInitial));
  auto message = [](const Status& s) { return s.message(); };
  EXPECT_EQ(message(members_->check_add(Member{0x10, "", {"http://new:1"}, {}, false})),
            "etcdserver: member ID already exist");
  EXPECT_EQ(message(members_->check_add(Member{0x50, "", {"http://new:1", "http://127.0.0.1:2381"}, {}, false})),
            "etcdserver: Peer URLs already exists");
  ASSERT_OK(members_->check_add(Member{0x50, "", {"http://new:1"}, {}, true}));
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kAddLearner, 0x50),
                                        Member{0x50, "", {"http://new:1"}, {}, true}, 5));
  EXPECT_EQ(message(members_->check_add(Member{0x60, "", {"http://new:2"}, {}, true})),
            "etcdserver: too many learner members in cluster");
  ASSERT_OK(members_->check_add(Member{0x60, "", {"http://new:2"}, {}, false}));
  EXPECT_EQ(message(members_->check_promote(0x10)), "etcdserver: can only promote a learner member");
  ASSERT_OK(members_->check_promote(0x50));
  EXPECT_EQ(message(members_->check_promote(0x99)), "etcdserver: member not found");
  EXPECT_EQ(message(members_->check_remove(0x99)), "etcdserver: member not found");
  ASSERT_OK(members_->check_remove(0x50));
  EXPECT_EQ(message(members_->check_update(0x99, {"http://x:1"})), "etcdserver: member not found");
  ASSERT_OK(members_->apply_conf_change(change(raft::ConfChangeType::kRemoveNode, 0x30), gone(0x30), 6));
  // A removed member's id never comes back, and it is no member to remove again.
  EXPECT_EQ(message(members_->check_add(Member{0x30, "", {"http://other:1"}, {}, false})),
            "etcdserver: member ID already exist");
  EXPECT_EQ(message(members_->check_remove(0x30)), "etcdserver: member not found");
  // Its peer URLs are free again.
  ASSERT_OK(members_->check_add(Member{0x70, "", kInitial[0].peer_urls, {}, false}));
}

TEST(MemberChangeRecord, RoundTripsAndRefusesDamage) {
  const MemberChange c{0x1234, Member{0x42, "", {"http://a:1"}, {}, true}};
  const std::string bytes = encode_member_change(c);
  Result<MemberChange> back = decode_member_change(0x42, bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_member_change(0x42, bytes.substr(0, n)).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(decode_member_change(0x42, bytes + "x").ok());
}

TEST(MemberRecord, RoundTripsAndRefusesDamage) {
  const Member m{0x42, "n", {"http://a:1", ""}, {"http://b:2"}, true};
  const std::string bytes = encode_member(m);
  Result<Member> back = decode_member(0x42, bytes);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, m);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(decode_member(0x42, bytes.substr(0, n)).ok()) << "truncated to " << n;
  }
  EXPECT_FALSE(decode_member(0x42, bytes + "x").ok());
  std::string other_format = bytes;
  other_format[0] = 2;
  EXPECT_EQ(decode_member(0x42, other_format).status().code(), Status::Code::kCorruption);
  std::string bad_flag = bytes;
  bad_flag.back() = 2;
  EXPECT_FALSE(decode_member(0x42, bad_flag).ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, MemberStoreTest, ::testing::ValuesIn(mvcc::testing::backend_names()),
                         mvcc::testing::backend_param_name);

}  // namespace
}  // namespace keel::server
