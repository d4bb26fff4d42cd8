// The MemberStore over a real MVCC store on each backend plugin: the initial members recorded
// once, a member's published attributes, a member it does not know left out, everything kept
// across a restart, and a damaged record refused.
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
