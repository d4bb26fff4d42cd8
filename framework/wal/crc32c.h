// CRC-32C (Castagnoli), with the CPU's crc32 instruction where it has one (SSE 4.2) and Boost.CRC
// elsewhere. Both give the same values.
#ifndef KEEL_WAL_CRC32C_H_
#define KEEL_WAL_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace keel::wal {

// The CRC of `data` continuing from `crc` (0 for a fresh one).
uint32_t crc32c_extend(uint32_t crc, std::string_view data);
inline uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data); }
// The portable path alone, so tests can compare it with the hardware path.
uint32_t crc32c_extend_portable(uint32_t crc, std::string_view data);

// A stored CRC is masked, as LevelDB does: the CRC of a string that itself holds CRCs is
// otherwise weak, and a run of zero bytes would carry the CRC of zeros.
inline uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t crc32c_unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace keel::wal

#endif  // KEEL_WAL_CRC32C_H_
