#include "mvcc/value_reader.h"

#include "mvcc/kv_codec.h"
#include "mvcc/kv_store.h"
#include "mvcc/revision.h"

namespace keel::mvcc {

Status ValueReader::fetch(const std::vector<Revision>& revs, bool keys_only,
                          std::vector<KeyValue>* out) {
  out->assign(revs.size(), KeyValue{});
  std::vector<bool> found(revs.size(), false);
  KEEL_RETURN_IF_ERROR(overlay_.lookup(revs, keys_only, out, &found));
  std::string value;
  for (size_t i = 0; i < revs.size(); ++i) {
    if (found[i]) continue;
    if (!tx_) {
      auto tx = backend_.begin_read();
      if (!tx.ok()) return tx.status();
      tx_ = std::move(*tx);
    }
    Status s = tx_->get(kKeyBucket, encode_revision_key(revs[i]), &value);
    if (s.is_not_found()) {
      return Status::NotFound("mvcc: revision " + std::to_string(revs[i].main) + "_" +
                              std::to_string(revs[i].sub) + " is not stored");
    }
    KEEL_RETURN_IF_ERROR(s);
    KEEL_RETURN_IF_ERROR(decode_key_value(value, &(*out)[i], keys_only));
  }
  return Status::OK();
}

}  // namespace keel::mvcc
