// The byte layout of a revision as a key of the `key` bucket (etcd's, see docs/format/mvcc.md):
//   8-byte big-endian main | '_' | 8-byte big-endian sub [| 't' for a tombstone]
// Big-endian so the Backend's bytewise order is revision order.
#ifndef KEEL_MVCC_REVISION_H_
#define KEEL_MVCC_REVISION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/kv.h"
#include "keel/status.h"

namespace keel::mvcc {

inline constexpr size_t kRevisionKeySize = 17;
inline constexpr char kTombstoneMark = 't';

// The key of `rev` in the `key` bucket; `tombstone` appends the mark.
std::string encode_revision_key(Revision rev, bool tombstone = false);

struct DecodedRevisionKey {
  Revision rev;
  bool tombstone = false;
};
// Corruption unless `key` is 17 bytes, or 18 ending in 't', with '_' at byte 8.
Result<DecodedRevisionKey> decode_revision_key(std::string_view key);

// Big-endian 8-byte integers, as the meta bucket stores them too.
void append_u64_be(std::string* out, uint64_t v);
uint64_t read_u64_be(std::string_view in);  // REQUIRES: in.size() >= 8

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_REVISION_H_
