// What a leader knows of each follower's log (dissertation §3.5 nextIndex/matchIndex, plus
// etcd's flow control): how far it matches, what to send next, and in which of three modes.
//
//   kProbe:     the leader does not know where the follower's log matches; it sends one append
//               per heartbeat interval and backs off on rejections.
//   kReplicate: the follower keeps up; appends stream optimistically, capped by Inflights.
//   kSnapshot:  the follower needs a snapshot; nothing is sent until it is reported done.
//
// Thread safety: none — single-threaded by contract.
#ifndef KEEL_RAFT_PROGRESS_H_
#define KEEL_RAFT_PROGRESS_H_

#include <cstdint>
#include <deque>
#include <string>
#include <utility>

namespace keel::raft {

// The append messages in flight to one follower: at most `max_count` messages and `max_bytes`
// bytes of entries (0 = unlimited). Freed as the follower acknowledges.
class Inflights {
 public:
  Inflights(size_t max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records a message whose last entry is `index`. REQUIRES: !full(); indexes increase.
  void add(uint64_t index, uint64_t bytes);
  // The follower acknowledged everything up to `index`.
  void free_le(uint64_t index);
  // Forgets the oldest message: it may have been lost, so let one more through.
  void free_first_one();
  bool full() const;
  size_t count() const { return items_.size(); }
  uint64_t bytes() const { return bytes_; }
  void reset() {
    items_.clear();
    bytes_ = 0;
  }

 private:
  size_t max_count_;
  uint64_t max_bytes_;
  std::deque<std::pair<uint64_t, uint64_t>> items_;  // (last index, bytes)
  uint64_t bytes_ = 0;
};

enum class ProgressState : uint8_t { kProbe = 0, kReplicate = 1, kSnapshot = 2 };
const char* ProgressStateName(ProgressState s);

class Progress {
 public:
  Progress(uint64_t next, size_t max_inflight, uint64_t max_inflight_bytes, bool is_learner)
      : next(next), inflights(max_inflight, max_inflight_bytes), is_learner(is_learner) {}

  void become_probe();
  void become_replicate();
  void become_snapshot(uint64_t snapshot_index);

  // An append acknowledged up to n. Returns true iff match advanced.
  bool maybe_update(uint64_t n);
  // An append was sent: `count` entries of `bytes`, the first at `first_index`.
  void sent_entries(size_t count, uint64_t bytes, uint64_t first_index);
  // A rejection of the append whose preceding index was `rejected`, with the follower's hint.
  // Returns false if the rejection is stale (an answer to an older append).
  bool maybe_decr_to(uint64_t rejected, uint64_t match_hint);
  // True iff the leader must not send appends now.
  bool is_paused() const;

  std::string describe() const;

  uint64_t match = 0;
  uint64_t next = 1;
  ProgressState state = ProgressState::kProbe;
  uint64_t pending_snapshot = 0;  // in kSnapshot: the snapshot's index
  // Heard from within the current election timeout (CheckQuorum); also gates sending snapshots.
  bool recent_active = false;
  // In kProbe: an append was sent and no answer came yet (one probe per heartbeat interval).
  bool probe_sent = false;
  Inflights inflights;
  bool is_learner = false;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_PROGRESS_H_
