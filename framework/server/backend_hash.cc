#include "server/backend_hash.h"

#include <boost/crc.hpp>
#include <string>
#include <vector>

#include "mvcc/kv_store.h"

namespace keel::server {

Result<uint32_t> backend_hash(Backend& backend) {
  auto tx = backend.begin_read();
  if (!tx.ok()) return tx.status();
  Result<std::vector<std::string>> buckets = (*tx)->buckets();
  if (!buckets.ok()) return buckets.status();
  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;  // CRC-32C
  for (const std::string& bucket : *buckets) {
    crc.process_bytes(bucket.data(), bucket.size());
    auto c = (*tx)->cursor(bucket);
    if (!c.ok()) return c.status();
    for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
      const std::string_view k = (*c)->key();
      if (bucket == mvcc::kMetaBucket && k == mvcc::kConsistentIndexKey) continue;
      const std::string_view v = (*c)->value();
      crc.process_bytes(k.data(), k.size());
      crc.process_bytes(v.data(), v.size());
    }
    KEEL_RETURN_IF_ERROR((*c)->status());
  }
  return static_cast<uint32_t>(crc.checksum());
}

}  // namespace keel::server
