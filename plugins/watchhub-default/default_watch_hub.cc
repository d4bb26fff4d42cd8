#include "default_watch_hub.h"

#include "key_range.h"
#include "watch_responses.h"

namespace keel::watchhub {
namespace {

constexpr int64_t kStreamWatchId = -1;  // etcd's InvalidWatchID: a progress answer for the stream

}  // namespace

// ---- HubStream ----

Result<int64_t> HubStream::create(const WatchCreate& request) {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return Status::FailedPrecondition("mvcc: watch stream is closed");
  WatchCreate spec = request;
  if (spec.key.empty()) spec.key = std::string(1, '\0');  // etcd's gateway does the same
  if (!spec.range_end.empty() && spec.range_end != std::string(1, '\0') && spec.key >= spec.range_end) {
    return Status::InvalidArgument("mvcc: watcher range is empty");
  }
  int64_t id = request.watch_id;
  if (id == 0) {
    while (watchers_.count(next_auto_id_) != 0) ++next_auto_id_;
    id = next_auto_id_++;
  } else if (watchers_.count(id) != 0) {
    return Status::InvalidArgument("mvcc: duplicate watch ID provided on the WatchStream");
  }
  auto w = std::make_unique<Watcher>();
  w->uid = hub_->next_uid_++;
  w->id = id;
  w->stream = this;
  w->spec = spec;
  w->spec.watch_id = id;
  // Revision 0: from the next revision on (etcd #11496); a future revision waits for it.
  w->next_revision = request.start_revision > 0 ? request.start_revision : hub_->current_ + 1;
  w->last_sent = hub_->now();
  WatchResponse created;
  created.watch_id = id;
  created.created = true;
  created.revision = hub_->current_;
  w->pending.push_back(std::move(created));
  Watcher* raw = w.get();
  watchers_[id] = std::move(w);
  hub_->by_uid_[raw->uid] = raw;
  hub_->flush(raw);
  hub_->place(raw);
  if (!raw->synced) hub_->wake_.notify_one();
  return id;
}

Status HubStream::cancel(int64_t watch_id) {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  auto it = watchers_.find(watch_id);
  if (closed_ || it == watchers_.end()) return Status::NotFound("mvcc: watcher does not exist");
  hub_->remove(it->second.get());
  WatchResponse canceled;
  canceled.watch_id = watch_id;
  canceled.canceled = true;
  canceled.revision = hub_->current_;
  control_.push_back(std::move(canceled));
  hub_->flush_control(this);
  if (!control_.empty()) hub_->wake_.notify_one();
  hub_->maybe_send_progress(this);
  return Status::OK();
}

void HubStream::request_progress() {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return;
  progress_requested_ = true;
  hub_->maybe_send_progress(this);
  if (progress_requested_) hub_->wake_.notify_one();
}

void HubStream::close() {
  std::lock_guard<std::mutex> lock(hub_->mu_);
  if (closed_) return;
  closed_ = true;
  while (!watchers_.empty()) hub_->remove(watchers_.begin()->second.get());
  control_.clear();
  hub_->streams_.erase(this);
}

// ---- DefaultWatchHub ----

DefaultWatchHub::DefaultWatchHub(const WatchHubOptions& options) : options_(options) {
  current_ = options_.history->current_revision();
  compacted_ = options_.history->compacted_revision();
  worker_ = std::thread([this] { run(); });
}

DefaultWatchHub::~DefaultWatchHub() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

Result<std::unique_ptr<WatchStream>> DefaultWatchHub::open_stream(WatchSink* sink) {
  if (sink == nullptr) return Status::InvalidArgument("a watch stream needs a sink");
  auto stream = std::make_unique<HubStream>(this, sink);
  std::lock_guard<std::mutex> lock(mu_);
  streams_.insert(stream.get());
  return std::unique_ptr<WatchStream>(std::move(stream));
}

void DefaultWatchHub::place(Watcher* w) {
  // Synced: nothing queued, and no published revision it still needs.
  w->synced = w->pending.empty() && w->next_revision > current_;
  w->future = w->synced && w->next_revision > current_ + 1;
  if (!w->synced) {
    unsynced_.insert(w);
  } else if (w->future) {
    future_.emplace(w->next_revision, w);
  } else if (is_single_key(w->spec.range_end)) {
    synced_keys_.emplace(w->spec.key, w);
  } else {
    synced_ranges_.insert(w);
  }
}

void DefaultWatchHub::unplace(Watcher* w) {
  auto erase_from = [w](auto& multimap, const auto& key) {
    auto [lo, hi] = multimap.equal_range(key);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == w) {
        multimap.erase(it);
        return;
      }
    }
  };
  if (!w->synced) {
    unsynced_.erase(w);
  } else if (w->future) {
    erase_from(future_, w->next_revision);
  } else if (is_single_key(w->spec.range_end)) {
    erase_from(synced_keys_, w->spec.key);
  } else {
    synced_ranges_.erase(w);
  }
}

bool DefaultWatchHub::flush(Watcher* w) {
  while (!w->pending.empty()) {
    if (!w->stream->sink_->deliver(w->pending.front())) return false;
    w->pending.pop_front();
    w->last_sent = now();
  }
  return true;
}

void DefaultWatchHub::flush_control(HubStream* s) {
  while (!s->control_.empty() && s->sink_->deliver(s->control_.front())) s->control_.pop_front();
}

void DefaultWatchHub::maybe_send_progress(HubStream* s) {
  if (!s->progress_requested_) return;
  // Only once every watcher of the stream has everything up to the current revision, so the
  // mark promises what it says (etcd #20242).
  for (const auto& [id, w] : s->watchers_) {
    if (!w->synced) return;
  }
  WatchResponse progress;
  progress.watch_id = kStreamWatchId;
  progress.revision = current_;
  if (s->sink_->deliver(progress)) s->progress_requested_ = false;
}

bool DefaultWatchHub::cancel_compacted(Watcher* w, int64_t compact_revision) {
  WatchResponse r;
  r.watch_id = w->id;
  r.canceled = true;
  r.compact_revision = compact_revision;  // etcd 3.4 says nothing more: no reason, revision 0
  if (!w->stream->sink_->deliver(r)) return false;
  remove(w);
  return true;
}

void DefaultWatchHub::remove(Watcher* w) {
  unplace(w);
  by_uid_.erase(w->uid);
  w->stream->watchers_.erase(w->id);  // destroys w
}

void DefaultWatchHub::publish(int64_t revision, std::vector<Event> events) {
  std::lock_guard<std::mutex> lock(mu_);
  if (revision > current_ + 1) {
    // The revisions between were never published (the member's store was replaced by a
    // leader's snapshot): the synced watchers catch them up from history.
    std::vector<Watcher*> behind(synced_ranges_.begin(), synced_ranges_.end());
    for (const auto& [key, w] : synced_keys_) behind.push_back(w);
    for (Watcher* w : behind) {
      unplace(w);
      w->next_revision = current_ + 1;
      w->synced = false;
      unsynced_.insert(w);
    }
    current_ = revision - 1;
  }
  // Watchers that start at this revision join the synced ones before it is handed out.
  while (!future_.empty() && future_.begin()->first <= revision) {
    Watcher* w = future_.begin()->second;
    future_.erase(future_.begin());
    w->future = false;
    w->synced = false;
    place(w);  // current_ is still the previous revision here
  }
  current_ = revision;
  // Each synced watcher's share of this revision, in event order.
  std::map<Watcher*, std::vector<const Event*>> shares;
  for (const Event& e : events) {
    auto [lo, hi] = synced_keys_.equal_range(e.kv.key);
    for (auto it = lo; it != hi; ++it) shares[it->second].push_back(&e);
    for (Watcher* w : synced_ranges_) {
      if (in_range(e.kv.key, w->spec.key, w->spec.range_end)) shares[w].push_back(&e);
    }
  }
  for (auto& [w, share] : shares) {
    w->next_revision = revision + 1;
    cut_responses(w->id, w->spec.fragment, revision, filter_events(w->spec, share),
                  options_.max_events_per_response, options_.max_response_bytes, &w->pending);
    if (!flush(w)) {
      // The stream is full: the rest of this revision waits on the watcher, later revisions
      // will come from history.
      unplace(w);
      w->synced = false;
      unsynced_.insert(w);
    }
  }
  if (!unsynced_.empty()) wake_.notify_one();
}

WatchHubStats DefaultWatchHub::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return WatchHubStats{by_uid_.size(), unsynced_.size()};
}

void DefaultWatchHub::compacted(int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  compacted_ = std::max(compacted_, revision);
  if (!unsynced_.empty()) wake_.notify_one();
}

bool DefaultWatchHub::catch_up(Watcher* w, Lock& lock) {
  if (!flush(w)) return false;  // still full: try again later
  if (w->next_revision > current_) {
    unplace(w);
    place(w);
    return true;
  }
  if (w->next_revision < compacted_) return cancel_compacted(w, compacted_);
  // Read a batch from history without the lock; publish() goes on meanwhile.
  const uint64_t uid = w->uid;
  const WatchCreate spec = w->spec;
  const int64_t from = w->next_revision;
  const int64_t to = current_;
  lock.unlock();
  std::vector<Event> events;
  int64_t compacted_at = 0;
  Status read = options_.history->read_events(spec.key, spec.range_end, from, to,
                                              options_.max_events_per_response, spec.prev_kv, &events,
                                              &compacted_at);
  lock.lock();
  auto it = by_uid_.find(uid);
  if (it == by_uid_.end() || it->second->next_revision != from) return true;  // canceled meanwhile
  w = it->second;
  if (!read.ok()) {
    if (read.code() == Status::Code::kOutOfRange) return cancel_compacted(w, std::max(compacted_at, compacted_));
    if (options_.logger != nullptr) {
      options_.logger->warn("watch " + std::to_string(w->id) + ": reading history failed: " + read.message());
    }
    return false;
  }
  // A full batch ends at its last revision; a short one covers everything up to `to`.
  int64_t covered = to;
  if (events.size() >= options_.max_events_per_response && !events.empty()) {
    covered = events.back().kv.mod_revision;
  }
  w->next_revision = covered + 1;
  std::vector<const Event*> read_events;
  read_events.reserve(events.size());
  for (const Event& e : events) read_events.push_back(&e);
  cut_responses(w->id, w->spec.fragment, current_, filter_events(w->spec, read_events),
                options_.max_events_per_response, options_.max_response_bytes, &w->pending);
  if (flush(w) && w->next_revision > current_) {
    unplace(w);
    place(w);
  }
  return true;
}

void DefaultWatchHub::notify_progress() {
  const auto now = this->now();
  for (HubStream* s : streams_) {
    flush_control(s);
    maybe_send_progress(s);
    for (auto& [id, w] : s->watchers_) {
      if (!w->synced || !w->spec.progress_notify || now - w->last_sent < options_.progress_interval) continue;
      WatchResponse r;
      r.watch_id = w->id;
      r.revision = current_;
      if (s->sink_->deliver(r)) w->last_sent = now;
    }
  }
}

void DefaultWatchHub::run() {
  Lock lock(mu_);
  // Progress notifications are checked at a tenth of their interval (at most every 100 ms).
  const auto tick = std::min<std::chrono::milliseconds>(
      std::chrono::milliseconds(100), std::max<std::chrono::milliseconds>(
                                          std::chrono::milliseconds(1), options_.progress_interval / 10));
  while (!stopping_) {
    std::vector<uint64_t> behind;
    for (Watcher* w : unsynced_) behind.push_back(w->uid);
    bool progressed = false;
    for (uint64_t uid : behind) {
      auto it = by_uid_.find(uid);
      if (it != by_uid_.end() && !it->second->synced) progressed = catch_up(it->second, lock) || progressed;
      if (stopping_) return;
    }
    notify_progress();
    // While catching up moves on, go on at once; a watcher whose stream is full waits a tick.
    if (!progressed || unsynced_.empty()) wake_.wait_for(lock, tick);
  }
}

}  // namespace keel::watchhub
