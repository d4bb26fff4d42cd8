// How keys longer than LMDB allows are stored.
//
// LMDB keys are at most 511 bytes (mdb_env_get_maxkeysize); keel's keys may be 1.5 MiB. A key of up
// to kMaxDirectKey bytes is stored as itself. Longer keys that share their first kMaxDirectKey bytes
// P live together in one "group" record whose key is P + 0x01 (kMaxDirectKey + 1 bytes, a length no
// direct key has) and whose value is the list of (rest of the key, value), sorted by rest:
//
//   group value := entry*   entry := u32le rest_size, rest, u32le value_size, value
//
// LMDB's plain memcmp order of stored keys then is the bytewise order of the keys they hold: every
// key in group P sorts after P itself and before anything greater than P that does not begin with
// P, which is exactly where P + 0x01 sorts. Groups are rare (keel's own hot keys are 17-byte
// revisions), so rewriting a whole group on a change is fine.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LONG_KEYS_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LONG_KEYS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel::backend_lmdb {

inline constexpr size_t kMaxDirectKey = 510;

struct GroupEntry {
  std::string_view rest;  // the key without its first kMaxDirectKey bytes; never empty
  std::string_view value;
};

inline bool is_group_key(std::string_view stored) { return stored.size() == kMaxDirectKey + 1; }

// The stored key of the group holding `key`. REQUIRES: key.size() > kMaxDirectKey.
inline std::string group_key(std::string_view key) {
  std::string k(key.substr(0, kMaxDirectKey));
  k.push_back('\x01');
  return k;
}

// Views into `data`, in stored (sorted) order; Corruption if `data` is not a group.
Status decode_group(std::string_view data, std::vector<GroupEntry>* entries);
// REQUIRES: entries sorted by rest, rests distinct.
std::string encode_group(const std::vector<GroupEntry>& entries);
// The first entry whose rest is >= `rest`.
size_t lower_bound(const std::vector<GroupEntry>& entries, std::string_view rest);

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LONG_KEYS_H_
