// DefaultWatchHub: keel's default WatchHub (keel/watch_hub.h has the contract).
//
// Watchers are in one of two groups, as in etcd's watchable store:
// - synced: caught up with the newest published revision. publish() hands them each revision's
//   matching events at once, from the apply thread. Single-key watchers are found by their key,
//   range watchers by a scan of the (usually few) range watchers.
// - unsynced: behind — started in the past, or their stream could not take a response. A worker
//   thread catches them up from the store's history (EventHistory), a batch at a time, outside
//   the hub's lock, and moves them to synced once they reach the newest revision.
// A response a stream refused stays queued on its watcher (never more than one revision's worth)
// and is offered again by the worker; the revisions after it come from history, so a slow
// stream never holds up publish() and never costs unbounded memory.
//
// Locking: one mutex guards everything; sinks are called with it held, so a sink must not call
// back into the hub (WatchSink::deliver must not block, as the contract says).
#ifndef KEEL_WATCHHUB_DEFAULT_DEFAULT_WATCH_HUB_H_
#define KEEL_WATCHHUB_DEFAULT_DEFAULT_WATCH_HUB_H_

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "keel/watch_hub.h"

namespace keel::watchhub {

class DefaultWatchHub;

struct Watcher {
  uint64_t uid = 0;  // unique for the hub's life (ids repeat across streams)
  int64_t id = 0;
  class HubStream* stream = nullptr;
  WatchCreate spec;
  int64_t next_revision = 0;           // the first revision not yet queued for this watcher
  std::deque<WatchResponse> pending;   // queued, not yet taken by the stream
  bool synced = false;   // in synced_keys_/synced_ranges_ (or future_, when waiting for its start)
  bool future = false;   // in future_
  Clock::TimePoint last_sent;
};

class HubStream : public WatchStream {
 public:
  HubStream(DefaultWatchHub* hub, WatchSink* sink) : hub_(hub), sink_(sink) {}
  ~HubStream() override { close(); }

  Result<int64_t> create(const WatchCreate& request) override;
  Status cancel(int64_t watch_id) override;
  void request_progress() override;
  void close() override;

 private:
  friend class DefaultWatchHub;
  DefaultWatchHub* hub_;
  WatchSink* sink_;
  std::map<int64_t, std::unique_ptr<Watcher>> watchers_;  // guarded by the hub's mutex
  std::deque<WatchResponse> control_;  // cancel answers not yet taken
  int64_t next_auto_id_ = 0;
  bool progress_requested_ = false;
  bool closed_ = false;
};

class DefaultWatchHub : public WatchHub {
 public:
  explicit DefaultWatchHub(const WatchHubOptions& options);
  // REQUIRES: every stream it opened is destroyed first.
  ~DefaultWatchHub() override;

  Result<std::unique_ptr<WatchStream>> open_stream(WatchSink* sink) override;
  void publish(int64_t revision, std::vector<Event> events) override;
  void compacted(int64_t revision) override;
  WatchHubStats stats() override;

 private:
  friend class HubStream;
  using Lock = std::unique_lock<std::mutex>;

  // All REQUIRE mu_ held.
  void place(Watcher* w);          // into the synced or unsynced group, as its state says
  void unplace(Watcher* w);
  bool flush(Watcher* w);          // offers pending responses; true when none is left
  void flush_control(HubStream* s);
  void maybe_send_progress(HubStream* s);
  bool cancel_compacted(Watcher* w, int64_t compact_revision);
  void remove(Watcher* w);

  Clock::TimePoint now() { return options_.clock != nullptr ? options_.clock->now() : std::chrono::steady_clock::now(); }
  void run();                       // the worker thread
  // One step for an unsynced watcher; false when it could not move (stream full, read failed).
  bool catch_up(Watcher* w, Lock& lock);
  void notify_progress();

  const WatchHubOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  int64_t current_ = 0;    // the newest revision published
  int64_t compacted_ = 0;  // the newest compaction
  uint64_t next_uid_ = 1;
  std::map<uint64_t, Watcher*> by_uid_;
  // Synced watchers need current_ + 1 next (their next_revision is not kept up to date).
  std::multimap<std::string, Watcher*> synced_keys_;  // single-key synced watchers
  std::set<Watcher*> synced_ranges_;
  std::set<Watcher*> unsynced_;
  std::multimap<int64_t, Watcher*> future_;  // start revisions not published yet, by revision
  std::set<HubStream*> streams_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace keel::watchhub

#endif  // KEEL_WATCHHUB_DEFAULT_DEFAULT_WATCH_HUB_H_
