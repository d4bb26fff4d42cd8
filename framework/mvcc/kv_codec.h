// keel's own encoding of a KeyValue, the value stored under each revision key (see
// docs/format/mvcc.md): a format byte, then length-prefixed key, four zigzag varints
// (create_revision, mod_revision, version, lease) and the length-prefixed value. Every length is
// checked against what is left, and the whole input must be consumed: garbage is Corruption,
// never a crash or an over-read.
#ifndef KEEL_MVCC_KV_CODEC_H_
#define KEEL_MVCC_KV_CODEC_H_

#include <string>
#include <string_view>

#include "keel/kv.h"
#include "keel/status.h"

namespace keel::mvcc {

inline constexpr uint8_t kKeyValueFormat = 1;

void encode_key_value(const KeyValue& kv, std::string* out);
std::string encode_key_value(const KeyValue& kv);

// Decodes `in` into *kv. With `skip_value` the value is left empty (keys-only reads do not copy it).
Status decode_key_value(std::string_view in, KeyValue* kv, bool skip_value = false);

// `kv` as etcd stores it (mvccpb.KeyValue marshaled by protobuf: fields 1-6 in order, zero values
// left out), which is what etcd's HashKV hashes: keel hashes the same bytes to give etcd's hash.
void encode_etcd_key_value(const KeyValue& kv, std::string* out);

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_KV_CODEC_H_
