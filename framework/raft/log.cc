#include "raft/log.h"

#include <algorithm>

#include "raft/errors.h"
#include "raft/fatal.h"

namespace keel::raft {

// ---- Unstable ----

std::optional<uint64_t> Unstable::maybe_first_index() const {
  if (snapshot_) return snapshot_->metadata.index + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybe_last_index() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata.index;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybe_term(uint64_t i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->metadata.index == i) return snapshot_->metadata.term;
    return std::nullopt;
  }
  auto last = maybe_last_index();
  if (!last || i > *last) return std::nullopt;
  if (entries_.empty()) return std::nullopt;  // i == snapshot index == offset - 1 handled above
  return entries_[i - offset_].term;
}

void Unstable::stable_to(uint64_t i, uint64_t t) {
  auto gt = maybe_term(i);
  if (!gt) return;
  // Only entries still in this part and unchanged since they were handed out are stable now.
  if (*gt == t && i >= offset_) {
    entries_.erase(entries_.begin(),
                   entries_.begin() + static_cast<std::ptrdiff_t>(i + 1 - offset_));
    offset_ = i + 1;
  }
}

void Unstable::stable_snap_to(uint64_t i) {
  if (snapshot_ && snapshot_->metadata.index == i) snapshot_.reset();
}

void Unstable::restore(const Snapshot& snap) {
  offset_ = snap.metadata.index + 1;
  entries_.clear();
  snapshot_ = snap;
}

void Unstable::truncate_and_append(const std::vector<Entry>& ents) {
  const uint64_t after = ents.front().index;
  if (after == offset_ + entries_.size()) {
    entries_.insert(entries_.end(), ents.begin(), ents.end());
  } else if (after <= offset_) {
    // Replaces everything unstable; the storage's entries from `after` on are overridden.
    offset_ = after;
    entries_ = ents;
  } else {
    entries_.resize(after - offset_);
    entries_.insert(entries_.end(), ents.begin(), ents.end());
  }
}

std::vector<Entry> Unstable::slice(uint64_t lo, uint64_t hi) const {
  if (lo > hi || lo < offset_ || hi > offset_ + entries_.size()) {
    Fatal("unstable.slice out of bounds");
  }
  return std::vector<Entry>(entries_.begin() + static_cast<std::ptrdiff_t>(lo - offset_),
                            entries_.begin() + static_cast<std::ptrdiff_t>(hi - offset_));
}

// ---- RaftLog ----

RaftLog::RaftLog(const Storage* storage) : storage_(storage), unstable_(0) {
  auto first = storage_->first_index();
  auto last = storage_->last_index();
  if (!first.ok() || !last.ok()) Fatal("storage: cannot read the first or last index");
  unstable_ = Unstable(*last + 1);
  committed_ = *first - 1;
  applied_ = *first - 1;
}

uint64_t RaftLog::first_index() const {
  if (auto i = unstable_.maybe_first_index()) return *i;
  auto r = storage_->first_index();
  if (!r.ok()) Fatal("storage: first_index: " + r.status().to_string());
  return *r;
}

uint64_t RaftLog::last_index() const {
  if (auto i = unstable_.maybe_last_index()) return *i;
  auto r = storage_->last_index();
  if (!r.ok()) Fatal("storage: last_index: " + r.status().to_string());
  return *r;
}

uint64_t RaftLog::last_term() const {
  auto t = term(last_index());
  if (!t.ok()) Fatal("term of the last entry: " + t.status().to_string());
  return *t;
}

Result<uint64_t> RaftLog::term(uint64_t i) const {
  const uint64_t dummy = first_index() - 1;
  if (i < dummy) return ErrCompacted();
  if (i > last_index()) return ErrUnavailable();
  if (auto t = unstable_.maybe_term(i)) return *t;
  auto t = storage_->term(i);
  if (t.ok()) return t;
  if (IsCompacted(t.status()) || IsUnavailable(t.status())) return t.status();
  Fatal("storage: term: " + t.status().to_string());
}

uint64_t RaftLog::zero_term_on_err(uint64_t i) const {
  auto t = term(i);
  return t.ok() ? *t : 0;
}

bool RaftLog::match_term(uint64_t i, uint64_t t) const {
  auto lt = term(i);
  return lt.ok() && *lt == t;
}

std::optional<uint64_t> RaftLog::maybe_append(uint64_t index, uint64_t log_term,
                                              uint64_t leader_commit,
                                              const std::vector<Entry>& ents) {
  if (!match_term(index, log_term)) return std::nullopt;
  const uint64_t last_new = index + ents.size();
  const uint64_t ci = find_conflict(ents);
  if (ci != 0) {
    if (ci <= committed_) Fatal("entry conflicts with a committed entry");
    append(
        std::vector<Entry>(ents.begin() + static_cast<std::ptrdiff_t>(ci - index - 1), ents.end()));
  }
  commit_to(std::min(leader_commit, last_new));
  return last_new;
}

uint64_t RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return last_index();
  if (ents.front().index - 1 < committed_) Fatal("append would overwrite committed entries");
  unstable_.truncate_and_append(ents);
  return last_index();
}

uint64_t RaftLog::find_conflict(const std::vector<Entry>& ents) const {
  for (const Entry& e : ents) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

std::pair<uint64_t, uint64_t> RaftLog::find_conflict_by_term(uint64_t index, uint64_t t) const {
  for (; index > 0; --index) {
    auto our = term(index);
    if (!our.ok()) return {index, 0};  // compacted or past the end: no term to compare
    if (*our <= t) return {index, *our};
  }
  return {0, 0};
}

bool RaftLog::is_up_to_date(uint64_t lasti, uint64_t t) const {
  const uint64_t lt = last_term();
  return t > lt || (t == lt && lasti >= last_index());
}

bool RaftLog::maybe_commit(uint64_t max_index, uint64_t t) {
  if (max_index > committed_ && zero_term_on_err(max_index) == t) {
    commit_to(max_index);
    return true;
  }
  return false;
}

void RaftLog::commit_to(uint64_t i) {
  if (committed_ >= i) return;  // never decrease the commit index
  if (last_index() < i) Fatal("commit index is past the last entry (log corrupted or truncated)");
  committed_ = i;
}

void RaftLog::applied_to(uint64_t i) {
  if (i == 0) return;
  if (committed_ < i || i < applied_) Fatal("applied index out of range");
  applied_ = i;
}

void RaftLog::applied_snapshot(uint64_t i) {
  if (i > applied_) applied_ = i;
}

Status RaftLog::must_check_out_of_bounds(uint64_t lo, uint64_t hi) const {
  if (lo > hi) Fatal("invalid slice");
  if (lo < first_index()) return ErrCompacted();
  if (hi > last_index() + 1) Fatal("slice out of bounds");
  return Status::OK();
}

Result<std::vector<Entry>> RaftLog::slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  KEEL_RETURN_IF_ERROR(must_check_out_of_bounds(lo, hi));
  std::vector<Entry> out;
  if (lo == hi) return out;
  const uint64_t uoff = unstable_.offset();
  if (lo < uoff) {
    auto stored = storage_->entries(lo, std::min(hi, uoff), max_bytes);
    if (!stored.ok()) {
      if (IsCompacted(stored.status())) return stored.status();
      Fatal("storage: entries: " + stored.status().to_string());
    }
    out = std::move(*stored);
    // The storage cut the range to fit max_bytes: nothing from the unstable part follows.
    if (out.size() < std::min(hi, uoff) - lo) return out;
  }
  if (hi > uoff) {
    uint64_t size = PayloadSize(out);
    for (uint64_t i = std::max(lo, uoff); i < hi; ++i) {
      const Entry& e = unstable_.entries()[i - uoff];
      size += EntrySize(e);
      if (!out.empty() && size > max_bytes) break;
      out.push_back(e);
    }
  }
  return out;
}

Result<std::vector<Entry>> RaftLog::entries(uint64_t i, uint64_t max_bytes) const {
  if (i > last_index()) return std::vector<Entry>{};
  return slice(i, last_index() + 1, max_bytes);
}

std::vector<Entry> RaftLog::all_entries() const {
  auto r = entries(first_index(), UINT64_MAX);
  if (r.ok()) return std::move(*r);
  return all_entries();  // a concurrent compaction raced us; the storage moved on
}

bool RaftLog::has_next_committed_entries() const {
  if (has_pending_snapshot()) return false;  // the snapshot must be applied first
  const uint64_t off = std::max(applied_ + 1, first_index());
  return committed_ + 1 > off;
}

std::vector<Entry> RaftLog::next_committed_entries(uint64_t max_bytes) const {
  if (!has_next_committed_entries()) return {};
  const uint64_t off = std::max(applied_ + 1, first_index());
  auto r = slice(off, committed_ + 1, max_bytes);
  if (!r.ok()) Fatal("committed entries are unavailable: " + r.status().to_string());
  return std::move(*r);
}

uint64_t RaftLog::persisted_index() const {
  if (unstable_.snapshot()) return 0;
  auto last = storage_->last_index();
  if (!last.ok()) Fatal("storage: last_index: " + last.status().to_string());
  return std::min(*last, unstable_.offset() - 1);
}

Result<Snapshot> RaftLog::snapshot() const {
  if (unstable_.snapshot()) return *unstable_.snapshot();
  return storage_->snapshot();
}

void RaftLog::restore(const Snapshot& snap) {
  committed_ = snap.metadata.index;
  unstable_.restore(snap);
}

}  // namespace keel::raft
