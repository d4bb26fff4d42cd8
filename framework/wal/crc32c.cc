#include "wal/crc32c.h"

#include <cstring>

#include <boost/crc.hpp>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace keel::wal {
namespace {

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, std::string_view data) {
  uint64_t c = ~crc;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = _mm_crc32_u64(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<uint8_t>(*p));
  return ~c32;
}

bool has_sse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}
#endif

uint32_t reflect32(uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i, v >>= 1) r = (r << 1) | (v & 1);
  return r;
}

}  // namespace

uint32_t crc32c_extend_portable(uint32_t crc, std::string_view data) {
  // Reflected Castagnoli polynomial. Boost takes the initial register unreflected and reflects
  // it itself, so the previous CRC's register (~crc, reflected) goes in reflected back.
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> c(reflect32(~crc));
  c.process_bytes(data.data(), data.size());
  return c.checksum();
}

uint32_t crc32c_extend(uint32_t crc, std::string_view data) {
#if defined(__x86_64__)
  if (has_sse42()) return crc32c_sse42(crc, data);
#endif
  return crc32c_extend_portable(crc, data);
}

}  // namespace keel::wal
