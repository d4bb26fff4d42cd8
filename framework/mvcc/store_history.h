// StoreHistory: the KV store's history as a WatchHub reads it (keel::EventHistory), for watchers
// that start in the past or fall behind.
//
// Reads go a chunk of revisions at a time and stop after the revision at which `max_events` is
// reached, so a catch-up never holds more than a batch. prev_kv comes from a read of the key at
// the revision before the event; if that revision is compacted it is left out, as etcd does.
//
// Thread safety: any thread, like KvStore's reads.
#ifndef KEEL_MVCC_STORE_HISTORY_H_
#define KEEL_MVCC_STORE_HISTORY_H_

#include "keel/watch_hub.h"
#include "mvcc/kv_store.h"

namespace keel::mvcc {

class StoreHistory : public EventHistory {
 public:
  explicit StoreHistory(const KvStore& store) : store_(store) {}

  // OutOfRange (and *compacted_at set) when `from` is at or below the compacted revision.
  Status read_events(const std::string& key, const std::string& range_end, int64_t from, int64_t to,
                     size_t max_events, bool with_prev_kv, std::vector<Event>* out,
                     int64_t* compacted_at) override;
  int64_t current_revision() override { return store_.current_revision(); }
  int64_t compacted_revision() override { return std::max<int64_t>(0, store_.compacted_revision()); }

 private:
  const KvStore& store_;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_STORE_HISTORY_H_
