#include "mvcc/revision.h"

namespace keel::mvcc {

void append_u64_be(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>((v >> shift) & 0xff));
}

uint64_t read_u64_be(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string encode_revision_key(Revision rev, bool tombstone) {
  std::string key;
  key.reserve(kRevisionKeySize + 1);
  append_u64_be(&key, static_cast<uint64_t>(rev.main));
  key.push_back('_');
  append_u64_be(&key, static_cast<uint64_t>(rev.sub));
  if (tombstone) key.push_back(kTombstoneMark);
  return key;
}

Result<DecodedRevisionKey> decode_revision_key(std::string_view key) {
  bool tombstone = key.size() == kRevisionKeySize + 1 && key.back() == kTombstoneMark;
  if ((key.size() != kRevisionKeySize && !tombstone) || key[8] != '_') {
    return Status::Corruption("mvcc: malformed revision key of " + std::to_string(key.size()) +
                              " bytes");
  }
  DecodedRevisionKey d;
  d.rev.main = static_cast<int64_t>(read_u64_be(key.substr(0, 8)));
  d.rev.sub = static_cast<int64_t>(read_u64_be(key.substr(9, 8)));
  d.tombstone = tombstone;
  return d;
}

}  // namespace keel::mvcc
