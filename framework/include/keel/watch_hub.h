// keel::WatchHub: how committed events reach watchers.
//
// The member hands the hub each committed revision's events, in revision order, from its apply
// thread; the hub delivers them to every matching watcher through the watcher's stream sink. A
// watcher that starts in the past, or falls behind because its stream is slow, is caught up from
// the store through the EventHistory the member provides.
//
// The contract every watch hub keeps (tests/plugins/watch_hub checks it for each one):
// - Every watcher receives every matching event from its start revision on: in order, exactly
//   once, with no gap, and a revision is never split across two responses unless the watcher asked
//   for fragmenting (and then the parts carry fragment=true but the last).
// - start_revision 0 means "from the next revision"; a start revision below the compacted
//   revision gets (after its created response) one response with canceled=true and
//   compact_revision set, no cancel_reason and revision 0 (etcd 3.4's answer); a future start
//   revision waits for it. A watch from exactly the compacted revision is served from it, as
//   etcd serves it: the compaction kept each key's last put up to that revision, not the deletes
//   it purged.
// - Filters (no put / no delete) and prev_kv are honoured; range rules are etcd's (see below).
// - publish() never blocks on a slow watcher: the hub buffers a bounded amount and catches the
//   watcher up from EventHistory later.
// - Revisions may jump: a member whose store is replaced by its leader's snapshot publishes the
//   newest revision next. The revisions skipped are in EventHistory by then, and every watcher
//   still gets them from there (or is canceled as compacted when they are gone).
// - Progress: request_progress() answers, once every watcher of the stream is synced, with an
//   event-less response whose revision is the current revision; progress_notify watchers get one
//   such response per progress interval when idle.
// - cancel() stops delivery; the sink then gets one response with canceled=true for the watch.
//
// Ranges: range_end empty = the key alone; "\0" = every key >= key; otherwise [key, range_end).
//
// Threads: publish() and compacted() come from one thread (the apply thread), in order; the
// stream methods come from any thread. deliver() may run on a hub thread or on the caller's
// thread inside publish() or any WatchStream method: a sink must not call back into the hub from
// deliver(), and a caller must not hold a lock deliver() takes while calling into the hub.
//
// Lifetimes: every stream is destroyed before its hub. publish(rev) comes only once
// EventHistory::read_events can see rev, so a watcher catching up never misses it.
#ifndef KEEL_WATCH_HUB_H_
#define KEEL_WATCH_HUB_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/clock.h"
#include "keel/kv.h"
#include "keel/logger.h"
#include "keel/status.h"

namespace keel {

struct WatchCreate {
  std::string key;
  std::string range_end;
  int64_t start_revision = 0;
  bool progress_notify = false;
  bool filter_put = false;     // etcd's NOPUT filter
  bool filter_delete = false;  // etcd's NODELETE filter
  bool prev_kv = false;
  bool fragment = false;
  int64_t watch_id = 0;  // 0: the hub picks one; otherwise the client's choice
};

struct WatchResponse {
  int64_t watch_id = 0;
  int64_t revision = 0;  // the header's revision: the store's revision when this was sent
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;
  std::string cancel_reason;
  bool fragment = false;
  std::vector<Event> events;
};

// Implemented by the member's stream (e.g. one gRPC Watch stream).
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // Offers a response. Returns false if the stream cannot take it now (its buffer is full); the
  // hub then keeps the watcher unsynced and offers the same response again later. The sink may
  // move from `response` only when it returns true. Must not block.
  virtual bool deliver(WatchResponse& response) = 0;
};

// Implemented by the member: the store's history, for watchers that start in the past or fall
// behind. Thread safety: any thread.
class EventHistory {
 public:
  virtual ~EventHistory() = default;
  // Appends to *out the events of revisions [from_revision, to_revision] on [key, range_end),
  // in order, stopping after the revision at which *out reaches `max_events` (a revision is
  // never cut). OutOfRange if from_revision is compacted (then *compacted_at is set).
  virtual Status read_events(const std::string& key, const std::string& range_end,
                             int64_t from_revision, int64_t to_revision, size_t max_events,
                             bool with_prev_kv, std::vector<Event>* out,
                             int64_t* compacted_at) = 0;
  virtual int64_t current_revision() = 0;
  virtual int64_t compacted_revision() = 0;
};

// One client stream of watchers. Thread safety: any thread.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // Creates a watcher; the sink gets its created response first. Watch id 0 asks the hub for
  // one (0, 1, 2, ... per stream, as etcd). InvalidArgument "mvcc: duplicate watch ID provided on
  // the WatchStream" for an id already in use on this stream.
  virtual Result<int64_t> create(const WatchCreate& request) = 0;
  // NotFound "mvcc: watcher does not exist" for an unknown watch id.
  virtual Status cancel(int64_t watch_id) = 0;
  // A progress answer is an event-less response with watch_id -1 (etcd's InvalidWatchID).
  virtual void request_progress() = 0;
  // Cancels every watcher; nothing is delivered after it returns. Also done by the destructor.
  virtual void close() = 0;
};

struct WatchHubOptions {
  EventHistory* history = nullptr;  // not owned; outlives the hub
  Logger* logger = nullptr;         // not owned
  Clock* clock = nullptr;           // not owned; progress notifications' time (null: steady clock)
  std::chrono::milliseconds progress_interval{10 * 60 * 1000};
  size_t max_events_per_response = 1000;
  size_t max_response_bytes = 1536 * 1024;  // fragmenting watchers are cut at this size
};

// What a hub holds now, for the member's metrics.
struct WatchHubStats {
  uint64_t watchers = 0;       // every watcher of every open stream
  uint64_t slow_watchers = 0;  // behind: catching up from history or held by a full stream
};

class WatchHub {
 public:
  virtual ~WatchHub() = default;
  WatchHub() = default;
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // `sink` is not owned and must outlive the stream.
  virtual Result<std::unique_ptr<WatchStream>> open_stream(WatchSink* sink) = 0;
  // The events of one committed revision, in order (empty for a revision with no changes). Each
  // event carries prev_kv where the key existed before it; the hub drops it for watchers that did
  // not ask for it.
  virtual void publish(int64_t revision, std::vector<Event> events) = 0;
  // The store was compacted at `revision`.
  virtual void compacted(int64_t revision) = 0;
  // Counts as of now; cheap, from any thread.
  virtual WatchHubStats stats() = 0;
};

class WatchHubPlugin {
 public:
  virtual ~WatchHubPlugin() = default;
  virtual Result<std::unique_ptr<WatchHub>> create(const WatchHubOptions& options) = 0;
};

}  // namespace keel

#endif  // KEEL_WATCH_HUB_H_
