// keel/peer_url.h: etcd's peer URL forms parse, and every malformed one is refused with the
// transport's name and the URL in the message.
#include "keel/peer_url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keel {
namespace {

using ::testing::HasSubstr;

TEST(PeerUrl, EtcdsFormsParse) {
  Result<PeerUrl> v4 = parse_peer_url("http://127.0.0.1:2380/", "transport-x");
  ASSERT_TRUE(v4.ok()) << v4.status().to_string();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 2380);
  EXPECT_EQ(v4->address(), "127.0.0.1:2380");
  EXPECT_EQ(v4->with_port(0), "http://127.0.0.1:0");
  Result<PeerUrl> v6 = parse_peer_url("http://[::1]:2380", "transport-x");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->address(7), "[::1]:7");
  Result<PeerUrl> name = parse_peer_url("http://infra0.example.com:0", "transport-x");
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->port, 0);
}

TEST(PeerUrl, MalformedOnesAreRefusedByName) {
  for (const char* bad : {"ftp://x:1", "http://", "http://host", "http://:80", "http://a:b",
                          "http://a:65536", "http://a:-1", "http://::1:80", "http://[::1:80",
                          "http://[::1]80", "http://a/b:80", "http://u@a:80", "http://a[b:80"}) {
    Result<PeerUrl> p = parse_peer_url(bad, "transport-x");
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_TRUE(p.status().is_invalid_argument()) << bad;
    EXPECT_THAT(p.status().message(), HasSubstr("transport-x: cannot use peer URL \"" + std::string(bad) + "\""));
  }
  Result<PeerUrl> tls = parse_peer_url("https://127.0.0.1:2380", "transport-x");
  EXPECT_TRUE(tls.status().is_not_supported());
  EXPECT_THAT(tls.status().message(), HasSubstr("not served yet by transport-x"));
}

TEST(PeerUrl, AListIsAllParsedOrRefused) {
  Result<std::vector<PeerUrl>> two = parse_peer_urls({"http://a:1", "http://[::1]:2"}, "transport-x");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
  EXPECT_TRUE(parse_peer_urls({}, "transport-x").status().is_invalid_argument());
  EXPECT_THAT(parse_peer_urls({"http://a:1", "http://b"}, "transport-x").status().message(),
              HasSubstr("\"http://b\""));
}

}  // namespace
}  // namespace keel
