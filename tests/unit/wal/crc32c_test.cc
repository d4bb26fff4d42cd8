#include "wal/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace keel::wal {
namespace {

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);  // RFC 3720 B.4
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, HardwareAndPortablePathsAgree) {
  std::mt19937_64 rng(7);
  for (size_t len : {1, 7, 8, 9, 63, 64, 65, 1000, 4096, 100003}) {
    std::string data(len, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    EXPECT_EQ(crc32c(data), crc32c_extend_portable(0, data)) << len;
  }
}

TEST(Crc32c, ExtendEqualsWhole) {
  std::string a = "hello, ", b = "write-ahead log";
  EXPECT_EQ(crc32c_extend(crc32c(a), b), crc32c(a + b));
  EXPECT_EQ(crc32c_extend_portable(crc32c_extend_portable(0, a), b), crc32c(a + b));
}

TEST(Crc32c, MaskRoundTripsAndDiffers) {
  for (uint32_t v : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu}) {
    EXPECT_EQ(crc32c_unmask(crc32c_mask(v)), v);
    EXPECT_NE(crc32c_mask(v), v);
  }
}

}  // namespace
}  // namespace keel::wal
