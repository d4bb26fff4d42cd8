#include "config/url.h"

#include <gtest/gtest.h>

namespace keel::config {
namespace {

TEST(Url, ParsesHostAndPort) {
  Result<Url> u = parse_url("https://10.0.0.1:2379");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "10.0.0.1");
  EXPECT_EQ(u->port, 2379);
}

TEST(Url, ParsesBracketedIpv6) {
  Result<Url> u = parse_url("http://[::1]:2380");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 2380);
}

TEST(Url, RefusesWhatEtcdRefuses) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"127.0.0.1:2379", "URL scheme must be http or https: 127.0.0.1:2379"},
      {"ftp://a:1", "URL scheme must be http or https: ftp://a:1"},
      {"http://a:1/path", "URL must not contain a path: http://a:1/path"},
      {"http://a", "URL address does not have the form \"host:port\": http://a"},
      {"http://a:", "URL address does not have the form \"host:port\": http://a:"},
      {"http://:1", "URL address does not have the form \"host:port\": http://:1"},
      {"http://a:99999", "URL address does not have the form \"host:port\": http://a:99999"},
      {"http://a:12x", "URL address does not have the form \"host:port\": http://a:12x"},
      {"http://::1:2", "URL address does not have the form \"host:port\": http://::1:2"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    Result<Url> u = parse_url(cases[i].text);
    ASSERT_FALSE(u.ok()) << "#" << i;
    EXPECT_EQ(u.status().message(), cases[i].message) << "#" << i;
  }
}

TEST(Url, ParsesAListAndRefusesAnyBadMember) {
  Result<std::vector<Url>> list = parse_url_list("http://a:1,http://b:2");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u);
  EXPECT_EQ(join_urls(*list), "http://a:1,http://b:2");
  EXPECT_FALSE(parse_url_list("http://a:1,").ok());
  EXPECT_FALSE(parse_url_list("").ok());
}

}  // namespace
}  // namespace keel::config
