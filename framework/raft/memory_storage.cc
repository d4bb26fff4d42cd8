#include "raft/memory_storage.h"

#include "raft/errors.h"

namespace keel::raft {

MemoryStorage::MemoryStorage() : ents_(1) {}

Status MemoryStorage::Bootstrap(const ConfState& cs, std::string data) {
  if (ents_.size() != 1 || ents_[0].index != 0 || !hard_state_.empty()) {
    return Status::FailedPrecondition("raft: bootstrap of a storage that is not empty");
  }
  Snapshot snap;
  snap.data = std::move(data);
  snap.metadata.index = 1;
  snap.metadata.term = 1;
  snap.metadata.conf_state = cs;
  KEEL_RETURN_IF_ERROR(apply_snapshot(snap));
  hard_state_ = HardState{1, kNone, 1};
  return Status::OK();
}

Result<InitialState> MemoryStorage::initial_state() const {
  return InitialState{hard_state_, snapshot_.metadata.conf_state};
}

Result<std::vector<Entry>> MemoryStorage::entries(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  const uint64_t offset = ents_[0].index;
  if (lo <= offset) return ErrCompacted();
  if (hi > last() + 1) return ErrUnavailable();
  std::vector<Entry> out;
  uint64_t size = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = ents_[i - offset];
    size += EntrySize(e);
    if (!out.empty() && size > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

Result<uint64_t> MemoryStorage::term(uint64_t i) const {
  const uint64_t offset = ents_[0].index;
  if (i < offset) return ErrCompacted();
  if (i - offset >= ents_.size()) return ErrUnavailable();
  return ents_[i - offset].term;
}

Result<uint64_t> MemoryStorage::last_index() const { return last(); }

Result<uint64_t> MemoryStorage::first_index() const { return first(); }

Result<Snapshot> MemoryStorage::snapshot() const { return snapshot_; }

Status MemoryStorage::apply_snapshot(const Snapshot& snap) {
  if (snapshot_.metadata.index >= snap.metadata.index) return ErrSnapOutOfDate();
  snapshot_ = snap;
  ents_.assign(1, Entry{snap.metadata.term, snap.metadata.index, EntryType::kNormal, {}});
  return Status::OK();
}

Status MemoryStorage::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return Status::OK();
  const uint64_t first_new = ents.front().index;
  const uint64_t last_new = ents.back().index;
  if (last_new < first()) return Status::OK();  // all compacted away
  size_t skip = 0;
  if (first_new < first()) skip = first() - first_new;
  const uint64_t start = ents[skip].index;
  if (start > last() + 1) {
    return Status::InvalidArgument("raft: append leaves a gap after the last entry");
  }
  const uint64_t offset = ents_[0].index;
  ents_.resize(start - offset);  // drop any conflicting suffix
  ents_.insert(ents_.end(), ents.begin() + static_cast<std::ptrdiff_t>(skip), ents.end());
  return Status::OK();
}

Result<Snapshot> MemoryStorage::create_snapshot(uint64_t i, const ConfState& cs, std::string data) {
  if (i <= snapshot_.metadata.index) return ErrSnapOutOfDate();
  if (i > last()) return Status::InvalidArgument("raft: snapshot index is past the last entry");
  const uint64_t offset = ents_[0].index;
  snapshot_.metadata.index = i;
  snapshot_.metadata.term = ents_[i - offset].term;
  snapshot_.metadata.conf_state = cs;
  snapshot_.data = std::move(data);
  return snapshot_;
}

Status MemoryStorage::compact(uint64_t compact_index) {
  const uint64_t offset = ents_[0].index;
  if (compact_index <= offset) return ErrCompacted();
  if (compact_index > last()) {
    return Status::InvalidArgument("raft: compact index is past the last entry");
  }
  const size_t k = compact_index - offset;
  std::vector<Entry> kept;
  kept.reserve(ents_.size() - k);
  kept.push_back(Entry{ents_[k].term, ents_[k].index, EntryType::kNormal, {}});
  kept.insert(kept.end(), ents_.begin() + static_cast<std::ptrdiff_t>(k) + 1, ents_.end());
  ents_ = std::move(kept);
  return Status::OK();
}

}  // namespace keel::raft
