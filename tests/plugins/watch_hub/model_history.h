// ModelHistory: a small, obviously right key-value history for the watch hub tests. It applies
// writes revision by revision, keeps every revision's events (with prev_kv), compacts, and answers
// EventHistory::read_events from them — the reference the hub's deliveries are checked against.
#ifndef KEEL_TESTS_PLUGINS_WATCH_HUB_MODEL_HISTORY_H_
#define KEEL_TESTS_PLUGINS_WATCH_HUB_MODEL_HISTORY_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "keel/watch_hub.h"

namespace keel::testing {

inline bool key_in_range(const std::string& k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  if (range_end == std::string(1, '\0')) return k >= key;
  return k >= key && k < range_end;
}

class ModelHistory : public EventHistory {
 public:
  struct Op {
    bool put;
    std::string key;
    std::string value;
  };

  // Applies `ops` as one revision; returns its events (each with prev_kv where the key existed).
  // Deleting an absent key makes no event. REQUIRES: no key twice in `ops`.
  std::pair<int64_t, std::vector<Event>> apply(const std::vector<Op>& ops) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t rev = current_ + 1;
    std::vector<Event> events;
    for (const Op& op : ops) {
      auto it = kvs_.find(op.key);
      Event e;
      if (it != kvs_.end()) e.prev_kv = it->second;
      if (op.put) {
        KeyValue kv;
        kv.key = op.key;
        kv.value = op.value;
        kv.mod_revision = rev;
        kv.create_revision = it != kvs_.end() ? it->second.create_revision : rev;
        kv.version = it != kvs_.end() ? it->second.version + 1 : 1;
        kvs_[op.key] = kv;
        e.type = Event::Type::kPut;
        e.kv = kv;
      } else {
        if (it == kvs_.end()) continue;
        e.type = Event::Type::kDelete;
        e.kv.key = op.key;
        e.kv.mod_revision = rev;
        kvs_.erase(it);
      }
      events.push_back(std::move(e));
    }
    current_ = rev;
    revisions_[rev] = events;
    return {rev, events};
  }

  void compact(int64_t rev) {
    std::lock_guard<std::mutex> lock(mu_);
    compacted_ = std::max(compacted_, rev);
  }

  // Every event of revisions [from, to] on the range, in order (no compaction applies).
  std::vector<Event> expected(const std::string& key, const std::string& range_end, int64_t from, int64_t to) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Event> out;
    for (auto it = revisions_.lower_bound(from); it != revisions_.end() && it->first <= to; ++it) {
      for (const Event& e : it->second) {
        if (key_in_range(e.kv.key, key, range_end)) out.push_back(e);
      }
    }
    return out;
  }

  Status read_events(const std::string& key, const std::string& range_end, int64_t from, int64_t to,
                     size_t max_events, bool with_prev_kv, std::vector<Event>* out,
                     int64_t* compacted_at) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    if (from < compacted_) {
      *compacted_at = compacted_;
      return Status::OutOfRange("mvcc: required revision has been compacted");
    }
    for (auto it = revisions_.lower_bound(from); it != revisions_.end() && it->first <= to; ++it) {
      for (const Event& e : it->second) {
        if (!key_in_range(e.kv.key, key, range_end)) continue;
        out->push_back(e);
        if (!with_prev_kv) out->back().prev_kv.reset();
      }
      if (out->size() >= max_events) break;  // whole revisions only
    }
    return Status::OK();
  }
  int64_t current_revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }
  int64_t compacted_revision() override {
    std::lock_guard<std::mutex> lock(mu_);
    return compacted_;
  }
  int reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }

 private:
  std::mutex mu_;
  int64_t current_ = 1;  // etcd's store starts at revision 1
  int64_t compacted_ = 0;
  std::map<std::string, KeyValue> kvs_;
  std::map<int64_t, std::vector<Event>> revisions_;
  int reads_ = 0;
};

}  // namespace keel::testing

#endif  // KEEL_TESTS_PLUGINS_WATCH_HUB_MODEL_HISTORY_H_
