#include "raft/progress.h"

#include <algorithm>
#include <sstream>

#include "raft/fatal.h"

namespace keel::raft {

void Inflights::add(uint64_t index, uint64_t bytes) {
  if (full()) Fatal("inflights: add to a full window");
  items_.emplace_back(index, bytes);
  bytes_ += bytes;
}

void Inflights::free_le(uint64_t index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

void Inflights::free_first_one() {
  if (items_.empty()) return;
  bytes_ -= items_.front().second;
  items_.pop_front();
}

bool Inflights::full() const {
  return items_.size() >= max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe:
      return "StateProbe";
    case ProgressState::kReplicate:
      return "StateReplicate";
    case ProgressState::kSnapshot:
      return "StateSnapshot";
  }
  return "Unknown";
}

void Progress::become_probe() {
  // Coming from a snapshot, the follower has at least the snapshot (if it got it): probe after it.
  if (state == ProgressState::kSnapshot) {
    const uint64_t pending = pending_snapshot;
    state = ProgressState::kProbe;
    next = std::max(match + 1, pending + 1);
  } else {
    state = ProgressState::kProbe;
    next = match + 1;
  }
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_replicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.reset();
}

void Progress::become_snapshot(uint64_t snapshot_index) {
  state = ProgressState::kSnapshot;
  probe_sent = false;
  pending_snapshot = snapshot_index;
  inflights.reset();
}

bool Progress::maybe_update(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

void Progress::sent_entries(size_t count, uint64_t bytes, uint64_t first_index) {
  switch (state) {
    case ProgressState::kReplicate:
      if (count > 0) {
        const uint64_t last = first_index + count - 1;
        next = last + 1;
        inflights.add(last, bytes);
      }
      break;
    case ProgressState::kProbe:
      probe_sent = true;
      break;
    case ProgressState::kSnapshot:
      Fatal("sending entries to a follower waiting for a snapshot");
  }
}

bool Progress::maybe_decr_to(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // Appends in flight make older rejections stale; anything at or below match is stale too.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // In probe mode only the answer to the last probe (preceding index next-1) counts.
  if (next - 1 != rejected) return false;
  next = std::max<uint64_t>(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::is_paused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::describe() const {
  std::ostringstream os;
  os << ProgressStateName(state) << " match=" << match << " next=" << next;
  if (is_learner) os << " learner";
  if (probe_sent) os << " paused";
  if (state == ProgressState::kSnapshot) os << " pendingSnap=" << pending_snapshot;
  if (!recent_active) os << " inactive";
  if (inflights.count() > 0) os << " inflight=" << inflights.count();
  return os.str();
}

}  // namespace keel::raft
