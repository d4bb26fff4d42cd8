#include "mvcc/overlay.h"

#include <algorithm>
#include <mutex>

#include "mvcc/kv_codec.h"

namespace keel::mvcc {

void Overlay::append(Revision rev, bool tombstone, std::string value) {
  std::unique_lock lock(mu_);
  entries_.push_back(Entry{rev, tombstone, std::move(value)});
}

Status Overlay::lookup(const std::vector<Revision>& revs, bool keys_only,
                       std::vector<KeyValue>* out, std::vector<bool>* found) const {
  std::shared_lock lock(mu_);
  if (entries_.empty()) return Status::OK();
  const Revision first = entries_.front().rev;
  for (size_t i = 0; i < revs.size(); ++i) {
    if (revs[i] < first) continue;
    auto it = std::lower_bound(entries_.begin(), entries_.end(), revs[i],
                               [](const Entry& e, const Revision& r) { return e.rev < r; });
    if (it == entries_.end() || it->rev != revs[i]) continue;
    KEEL_RETURN_IF_ERROR(decode_key_value(it->value, &(*out)[i], keys_only));
    (*found)[i] = true;
  }
  return Status::OK();
}

void Overlay::for_each(const std::function<void(const Entry&)>& f) const {
  std::shared_lock lock(mu_);
  for (const auto& e : entries_) f(e);
}

void Overlay::trim(size_t n) {
  std::unique_lock lock(mu_);
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(n));
}

size_t Overlay::size() const {
  std::shared_lock lock(mu_);
  return entries_.size();
}

}  // namespace keel::mvcc
