// KvStore::hash_kv: etcd's HashKV (mvcc store.hashByRev): a CRC-32C over the bucket name and then
// every (revision key, value) of the `key` bucket up to the revision, skipping revisions below the
// compaction point that a compaction at the revision would not keep, so a purge in progress does
// not change it. The values are hashed as etcd stores them (a marshaled mvccpb.KeyValue), not in
// keel's own encoding, so a keel member and an etcd member with the same history agree.
#include <algorithm>
#include <boost/crc.hpp>
#include <map>

#include "mvcc/errors.h"
#include "mvcc/kv_codec.h"
#include "mvcc/kv_store.h"
#include "mvcc/revision.h"

namespace keel::mvcc {

Result<HashKvResponse> KvStore::hash_kv(int64_t revision) const {
  const int64_t compacted = compacted_revision();
  const int64_t current = current_revision();
  if (revision > 0 && revision <= compacted) return ErrCompacted();
  if (revision > 0 && revision > current) return ErrFutureRev();
  const int64_t rev = revision == 0 ? current : revision;
  const std::vector<Revision> keep = index_.keep(rev);
  const Revision upper{rev + 1, 0};
  const Revision lower{compacted + 1, 0};

  // The overlay first, then the Backend (see overlay.h); a revision met in both is kept once.
  std::map<Revision, std::pair<std::string, std::string>> entries;
  overlay_.for_each([&](const Overlay::Entry& e) {
    if (e.rev < upper) entries.emplace(e.rev, std::pair(encode_revision_key(e.rev, e.tombstone), e.value));
  });
  auto tx = backend_.begin_read();
  if (!tx.ok()) return tx.status();
  auto c = (*tx)->cursor(kKeyBucket);
  if (!c.ok()) return c.status();

  boost::crc_optimal<32, 0x1EDC6F41, 0xFFFFFFFF, 0xFFFFFFFF, true, true> crc;  // CRC-32C
  crc.process_bytes(kKeyBucket, sizeof(kKeyBucket) - 1);
  std::string etcd_value;
  auto add = [&](Revision r, std::string_view k, std::string_view v) -> Status {
    // Below the compaction point only what a compaction at `rev` would keep counts. etcd skips
    // nothing when that keeps nothing, which makes its hash depend on how far the purge has got;
    // keel always skips, so the hash depends on the history alone.
    if (r < lower && !std::binary_search(keep.begin(), keep.end(), r)) return Status::OK();
    KeyValue kv;
    KEEL_RETURN_IF_ERROR(decode_key_value(v, &kv));
    etcd_value.clear();
    encode_etcd_key_value(kv, &etcd_value);
    crc.process_bytes(k.data(), k.size());
    crc.process_bytes(etcd_value.data(), etcd_value.size());
    return Status::OK();
  };
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
    auto rk = decode_revision_key((*c)->key());
    if (!rk.ok()) return rk.status();
    if (!(rk->rev < upper)) break;
    entries.erase(rk->rev);
    KEEL_RETURN_IF_ERROR(add(rk->rev, (*c)->key(), (*c)->value()));
  }
  KEEL_RETURN_IF_ERROR((*c)->status());
  for (const auto& [r, kv] : entries) KEEL_RETURN_IF_ERROR(add(r, kv.first, kv.second));

  HashKvResponse resp;
  resp.header.revision = current;
  resp.hash = crc.checksum();
  resp.compact_revision = compacted;
  resp.hash_revision = rev;
  return resp;
}

}  // namespace keel::mvcc
