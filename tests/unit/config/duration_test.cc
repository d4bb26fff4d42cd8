#include "config/duration.h"

#include <gtest/gtest.h>

namespace keel::config {
namespace {

using namespace std::chrono_literals;

TEST(Duration, ParsesGoDurations) {
  struct Case {
    const char* text;
    std::chrono::nanoseconds want;
  } cases[] = {
      {"0", 0ns},        {"5s", 5s},        {"100ms", 100ms},  {"2h0m0s", 2h},
      {"1.5h", 90min},   {"1m30s", 90s},    {"250us", 250us},  {"7ns", 7ns},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    Result<std::chrono::nanoseconds> d = parse_duration(cases[i].text);
    ASSERT_TRUE(d.ok()) << "#" << i << " " << d.status().to_string();
    EXPECT_EQ(*d, cases[i].want) << "#" << i;
  }
}

TEST(Duration, RefusesOthers) {
  for (const char* text : {"", "5", "s", "5x", "1..2s", "-1s", "1h-2m"}) {
    Result<std::chrono::nanoseconds> d = parse_duration(text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().message(), std::string("time: invalid duration \"") + text + "\"");
  }
}

}  // namespace
}  // namespace keel::config
