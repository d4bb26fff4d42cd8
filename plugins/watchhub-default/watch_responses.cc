#include "watch_responses.h"

namespace keel::watchhub {
namespace {

size_t event_bytes(const Event& e) {
  size_t n = 64 + e.kv.key.size() + e.kv.value.size();
  if (e.prev_kv) n += 32 + e.prev_kv->key.size() + e.prev_kv->value.size();
  return n;
}

}  // namespace

std::vector<Event> filter_events(const WatchCreate& spec, const std::vector<const Event*>& events) {
  std::vector<Event> kept;
  kept.reserve(events.size());
  for (const Event* e : events) {
    if (e->type == Event::Type::kPut && spec.filter_put) continue;
    if (e->type == Event::Type::kDelete && spec.filter_delete) continue;
    Event& copy = kept.emplace_back();
    copy.type = e->type;
    copy.kv = e->kv;
    if (spec.prev_kv) copy.prev_kv = e->prev_kv;
  }
  return kept;
}

void cut_responses(int64_t watch_id, bool fragment, int64_t header_revision, std::vector<Event> events,
                   size_t max_events, size_t max_bytes, std::deque<WatchResponse>* out) {
  auto start = [&] {
    WatchResponse r;
    r.watch_id = watch_id;
    r.revision = header_revision;
    out->push_back(std::move(r));
    return &out->back();
  };
  if (events.empty()) return;
  if (fragment) {
    // By size, cutting inside a revision if need be; the receiver joins the parts.
    WatchResponse* r = start();
    size_t bytes = 0;
    for (Event& e : events) {
      size_t n = event_bytes(e);
      if (!r->events.empty() && bytes + n > max_bytes) {
        r->fragment = true;
        r = start();
        bytes = 0;
      }
      bytes += n;
      r->events.push_back(std::move(e));
    }
    return;
  }
  // Whole revisions only: a response closes at a revision boundary once it has max_events.
  WatchResponse* r = start();
  for (size_t i = 0; i < events.size(); ++i) {
    bool new_revision = i > 0 && events[i].kv.mod_revision != events[i - 1].kv.mod_revision;
    if (new_revision && r->events.size() >= max_events) r = start();
    r->events.push_back(std::move(events[i]));
  }
}

}  // namespace keel::watchhub
