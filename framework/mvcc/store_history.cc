#include "mvcc/store_history.h"

#include "mvcc/requests.h"

namespace keel::mvcc {
namespace {

constexpr int64_t kChunk = 1024;  // revisions read at a time

bool in_range(const std::string& k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  if (range_end == std::string(1, '\0')) return k >= key;
  return k >= key && k < range_end;
}

}  // namespace

Status StoreHistory::read_events(const std::string& key, const std::string& range_end, int64_t from, int64_t to,
                                 size_t max_events, bool with_prev_kv, std::vector<Event>* out,
                                 int64_t* compacted_at) {
  auto compacted = [&] {
    *compacted_at = compacted_revision();
    return Status::OutOfRange("mvcc: required revision has been compacted");
  };
  // etcd's rule: a watch from the compacted revision itself is served from what it kept.
  if (from < store_.compacted_revision()) return compacted();
  for (int64_t lo = from; lo <= to; lo += kChunk) {
    Result<std::vector<Event>> events = store_.events(lo, std::min(to, lo + kChunk - 1));
    if (!events.ok()) {
      if (events.status().code() == Status::Code::kOutOfRange) return compacted();
      return events.status();
    }
    int64_t last_revision = 0;
    for (Event& e : *events) {
      // Stop at a revision boundary once the batch is full: a revision is never cut.
      if (out->size() >= max_events && e.kv.mod_revision != last_revision) return Status::OK();
      last_revision = e.kv.mod_revision;
      if (!in_range(e.kv.key, key, range_end)) continue;
      if (with_prev_kv) {
        RangeRequest before;
        before.key = e.kv.key;
        before.revision = e.kv.mod_revision - 1;
        Result<RangeResponse> prev = store_.range(before);
        if (prev.ok() && !prev->kvs.empty()) e.prev_kv = prev->kvs.front();
      }
      out->push_back(std::move(e));
    }
    if (out->size() >= max_events) return Status::OK();
  }
  return Status::OK();
}

}  // namespace keel::mvcc
