#include "mvcc/kv_codec.h"

#include <cstdint>

namespace keel::mvcc {
namespace {

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_signed(std::string* out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

// Reads from the front of *in, advancing it; false if it runs out or overflows 64 bits.
bool get_varint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 63 && byte > 1) return false;
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

bool get_signed(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!get_varint(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool get_bytes(std::string_view* in, std::string_view* bytes) {
  uint64_t n;
  if (!get_varint(in, &n) || n > in->size()) return false;
  *bytes = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

Status corrupt(const char* what) {
  return Status::Corruption(std::string("mvcc: bad KeyValue encoding: ") + what);
}

}  // namespace

void encode_key_value(const KeyValue& kv, std::string* out) {
  out->reserve(out->size() + kv.key.size() + kv.value.size() + 24);
  out->push_back(static_cast<char>(kKeyValueFormat));
  put_varint(out, kv.key.size());
  out->append(kv.key);
  put_signed(out, kv.create_revision);
  put_signed(out, kv.mod_revision);
  put_signed(out, kv.version);
  put_signed(out, kv.lease);
  put_varint(out, kv.value.size());
  out->append(kv.value);
}

std::string encode_key_value(const KeyValue& kv) {
  std::string out;
  encode_key_value(kv, &out);
  return out;
}

Status decode_key_value(std::string_view in, KeyValue* kv, bool skip_value) {
  if (in.empty()) return corrupt("empty");
  if (static_cast<uint8_t>(in.front()) != kKeyValueFormat) return corrupt("unknown format byte");
  in.remove_prefix(1);
  std::string_view key, value;
  if (!get_bytes(&in, &key)) return corrupt("key length");
  if (!get_signed(&in, &kv->create_revision) || !get_signed(&in, &kv->mod_revision) ||
      !get_signed(&in, &kv->version) || !get_signed(&in, &kv->lease)) {
    return corrupt("truncated number");
  }
  if (!get_bytes(&in, &value)) return corrupt("value length");
  if (!in.empty()) return corrupt("trailing bytes");
  kv->key.assign(key);
  if (skip_value) {
    kv->value.clear();
  } else {
    kv->value.assign(value);
  }
  return Status::OK();
}

void encode_etcd_key_value(const KeyValue& kv, std::string* out) {
  // Protobuf's wire format: a tag (field number << 3 | wire type) before each field present;
  // int64 values as varints (a negative one as its 64-bit two's complement).
  auto bytes = [&](uint8_t tag, const std::string& b) {
    if (b.empty()) return;
    out->push_back(static_cast<char>(tag));
    put_varint(out, b.size());
    out->append(b);
  };
  auto number = [&](uint8_t tag, int64_t v) {
    if (v == 0) return;
    out->push_back(static_cast<char>(tag));
    put_varint(out, static_cast<uint64_t>(v));
  };
  bytes(0x0a, kv.key);               // 1: key
  number(0x10, kv.create_revision);  // 2: create_revision
  number(0x18, kv.mod_revision);     // 3: mod_revision
  number(0x20, kv.version);          // 4: version
  bytes(0x2a, kv.value);             // 5: value
  number(0x30, kv.lease);            // 6: lease
}

}  // namespace keel::mvcc
