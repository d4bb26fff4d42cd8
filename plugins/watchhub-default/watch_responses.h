// Cutting a watcher's events into WatchResponses: whole revisions per response, at most
// `max_events` events unless one revision alone holds more; with fragmenting asked for, cut by
// size instead, every part but the last marked fragment.
#ifndef KEEL_WATCHHUB_DEFAULT_WATCH_RESPONSES_H_
#define KEEL_WATCHHUB_DEFAULT_WATCH_RESPONSES_H_

#include <deque>
#include <vector>

#include "keel/watch_hub.h"

namespace keel::watchhub {

// Copies of the events `spec` wants (its filters; prev_kv only if asked), in order. Takes
// pointers so that a revision's events, shared by all its watchers, are copied once per watcher.
std::vector<Event> filter_events(const WatchCreate& spec, const std::vector<const Event*>& events);

// Appends to *out the responses carrying `events` (already filtered) for watch `watch_id`.
void cut_responses(int64_t watch_id, bool fragment, int64_t header_revision, std::vector<Event> events,
                   size_t max_events, size_t max_bytes, std::deque<WatchResponse>* out);

}  // namespace keel::watchhub

#endif  // KEEL_WATCHHUB_DEFAULT_WATCH_RESPONSES_H_
