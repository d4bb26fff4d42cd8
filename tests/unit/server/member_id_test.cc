// Member and cluster ids match etcd's for the same flags, so tools that print or compare them
// see what they would see with etcd.
#include "server/member_id.h"

#include <gtest/gtest.h>

namespace keel::server {
namespace {

// etcd started with no flags: one member on http://localhost:2380, token etcd-cluster. Its logs
// name member 8e9e05c52164694d of cluster cdf818194e3a8c32.
TEST(MemberId, EtcdDefaultsGiveEtcdsIds) {
  uint64_t member = compute_member_id({"http://localhost:2380"}, "etcd-cluster");
  EXPECT_EQ(id_to_hex(member), "8e9e05c52164694d");
  EXPECT_EQ(id_to_hex(compute_cluster_id({member})), "cdf818194e3a8c32");
}

TEST(MemberId, PeerUrlOrderDoesNotMatterButTheTokenDoes) {
  EXPECT_EQ(compute_member_id({"http://a:1", "http://b:2"}, "t"),
            compute_member_id({"http://b:2", "http://a:1"}, "t"));
  EXPECT_NE(compute_member_id({"http://a:1"}, "t"), compute_member_id({"http://a:1"}, "u"));
  EXPECT_EQ(compute_cluster_id({1, 2, 3}), compute_cluster_id({3, 1, 2}));
}

}  // namespace
}  // namespace keel::server
