// How buckets map onto LevelDB's one key space.
//
//   bucket registry:  0x00 bucket                       -> ""
//   data:             0x01 u32be(len(bucket)) bucket key -> value
//
// The length prefix keeps buckets apart ("a" + "bc" never meets "ab" + "c"), and within a bucket
// stored keys sort as the keys do. The tag bytes keep the registry before all data.
#ifndef KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_KEYS_H_
#define KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_KEYS_H_

#include <leveldb/slice.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::backend_leveldb {

inline constexpr char kRegistryTag = '\x00';
inline constexpr char kDataTag = '\x01';

inline std::string registry_key(std::string_view bucket) {
  std::string k(1, kRegistryTag);
  k.append(bucket);
  return k;
}

// The prefix of every stored key of `bucket`.
inline std::string bucket_prefix(std::string_view bucket) {
  std::string p(1, kDataTag);
  uint32_t n = static_cast<uint32_t>(bucket.size());
  for (int shift = 24; shift >= 0; shift -= 8) p.push_back(static_cast<char>((n >> shift) & 0xFF));
  p.append(bucket);
  return p;
}

// The smallest key greater than every key that starts with `prefix` ("" if there is none).
inline std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

inline leveldb::Slice to_slice(std::string_view s) { return leveldb::Slice(s.data(), s.size()); }
inline std::string_view from_slice(const leveldb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_KEYS_H_
