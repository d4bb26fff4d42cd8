#include "long_keys.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace keel::backend_lmdb {

namespace {

bool take(std::string_view* in, std::string_view* out) {
  uint32_t size;
  if (in->size() < sizeof(size)) return false;
  std::memcpy(&size, in->data(), sizeof(size));  // little-endian hosts only (x86-64, arm64)
  in->remove_prefix(sizeof(size));
  if (in->size() < size) return false;
  *out = in->substr(0, size);
  in->remove_prefix(size);
  return true;
}

void put(std::string* out, std::string_view bytes) {
  uint32_t size = static_cast<uint32_t>(bytes.size());
  out->append(reinterpret_cast<const char*>(&size), sizeof(size));
  out->append(bytes);
}

}  // namespace

Status decode_group(std::string_view data, std::vector<GroupEntry>* entries) {
  entries->clear();
  while (!data.empty()) {
    GroupEntry e;
    if (!take(&data, &e.rest) || !take(&data, &e.value) || e.rest.empty() ||
        (!entries->empty() && entries->back().rest >= e.rest)) {
      return Status::Corruption("lmdb: bad long-key group record");
    }
    entries->push_back(e);
  }
  if (entries->empty()) return Status::Corruption("lmdb: empty long-key group record");
  return Status::OK();
}

std::string encode_group(const std::vector<GroupEntry>& entries) {
  size_t total = 0;
  for (const auto& e : entries) total += 8 + e.rest.size() + e.value.size();
  std::string out;
  out.reserve(total);
  for (const auto& e : entries) {
    put(&out, e.rest);
    put(&out, e.value);
  }
  return out;
}

size_t lower_bound(const std::vector<GroupEntry>& entries, std::string_view rest) {
  auto it = std::lower_bound(entries.begin(), entries.end(), rest,
                             [](const GroupEntry& e, std::string_view r) { return e.rest < r; });
  return static_cast<size_t>(it - entries.begin());
}

}  // namespace keel::backend_lmdb
