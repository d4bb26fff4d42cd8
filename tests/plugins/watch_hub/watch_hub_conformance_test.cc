// The WatchHub contract (keel/watch_hub.h), checked for every watch hub plugin, loaded through the
// plugin host as keeld loads it, against a model history. The randomized checker is etcd's watch
// validation: every stream ordered, unique, gap-free from its start, atomic per revision, with
// the right prev_kv, and equal to what the model says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <set>
#include <random>
#include <thread>

#include "keel/plugin.h"
#include "model_history.h"
#include "plugin_host/plugin_host.h"

namespace keel::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

class NullLogger : public Logger {
 public:
  void log(LogLevel, std::string_view) override {}
};

// Records every response; refuses a share of them (seeded) while `slow` is set, as a stream whose
// client reads slowly.
class CollectingSink : public WatchSink {
 public:
  explicit CollectingSink(uint64_t seed = 1) : rng_(seed) {}

  bool deliver(WatchResponse& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (refuse_percent_ > 0 && static_cast<int>(rng_() % 100) < refuse_percent_) return false;
    responses_.push_back(r);
    cv_.notify_all();
    return true;
  }
  void set_refuse_percent(int p) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_percent_ = p;
  }
  std::vector<WatchResponse> responses() {
    std::lock_guard<std::mutex> lock(mu_);
    return responses_;
  }
  // Waits (up to a generous bound) until `pred` holds over the responses; false if it never did.
  template <typename Pred>
  bool wait_for(Pred pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 60s, [&] { return pred(responses_); });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::mt19937_64 rng_;
  int refuse_percent_ = 0;
  std::vector<WatchResponse> responses_;
};

bool has_progress_at(const std::vector<WatchResponse>& rs, int64_t revision) {
  for (const auto& r : rs) {
    if (r.watch_id == -1 && r.events.empty() && r.revision >= revision) return true;
  }
  return false;
}

// The events a watch received, and whether it was canceled for compaction.
struct Received {
  bool created = false;
  std::vector<Event> events;
  int64_t compact_revision = 0;
  bool canceled = false;
  std::string violation;  // the first rule broken, if any
};

Received collect(const std::vector<WatchResponse>& rs, int64_t watch_id) {
  Received got;
  int64_t last_revision = 0;
  bool in_fragment = false;
  for (const auto& r : rs) {
    if (r.watch_id != watch_id) continue;
    if (r.created) {
      if (got.created && got.violation.empty()) got.violation = "created twice";
      got.created = true;
      continue;
    }
    if (!got.created && got.violation.empty()) got.violation = "a response before the created one";
    if (got.canceled && got.violation.empty()) got.violation = "a response after the cancel";
    if (r.canceled) {
      got.canceled = true;
      got.compact_revision = r.compact_revision;
      continue;
    }
    if (!r.events.empty() && !in_fragment && r.events.front().kv.mod_revision == last_revision &&
        got.violation.empty()) {
      got.violation = "revision " + std::to_string(last_revision) + " split across responses";
    }
    for (const auto& e : r.events) {
      if (e.kv.mod_revision < last_revision && got.violation.empty()) got.violation = "revisions went back";
      last_revision = e.kv.mod_revision;
      got.events.push_back(e);
    }
    in_fragment = r.fragment;
  }
  return got;
}

std::vector<Event> filtered(std::vector<Event> events, const WatchCreate& spec) {
  std::vector<Event> out;
  for (auto& e : events) {
    if (e.type == Event::Type::kPut && spec.filter_put) continue;
    if (e.type == Event::Type::kDelete && spec.filter_delete) continue;
    if (!spec.prev_kv) e.prev_kv.reset();
    out.push_back(std::move(e));
  }
  return out;
}

class WatchHubConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
    Result<plugin_host::LoadedPlugin> p = host.resolve(PluginKind::kWatchHub, GetParam());
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    PluginConfig settings("watch_hub." + GetParam());
    auto engine = plugin_host::create_watch_hub(*p, PluginContext{settings, logger_});
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    engine_ = std::move(engine).value();
  }

  std::unique_ptr<WatchHub> make_hub(size_t max_events = 1000, size_t max_bytes = 1 << 20,
                                     std::chrono::milliseconds progress = 10min) {
    WatchHubOptions o;
    o.history = &history_;
    o.logger = &logger_;
    o.max_events_per_response = max_events;
    o.max_response_bytes = max_bytes;
    o.progress_interval = progress;
    Result<std::unique_ptr<WatchHub>> hub = engine_->create(o);
    EXPECT_TRUE(hub.ok()) << hub.status().to_string();
    return hub.ok() ? std::move(hub).value() : nullptr;
  }

  void write(WatchHub& hub, std::vector<ModelHistory::Op> ops) {
    auto [rev, events] = history_.apply(ops);
    hub.publish(rev, events);
  }
  static ModelHistory::Op put(std::string k, std::string v) { return {true, std::move(k), std::move(v)}; }
  static ModelHistory::Op del(std::string k) { return {false, std::move(k), ""}; }

  // Waits until the stream reports progress at the model's current revision: everything up to it
  // has been delivered.
  bool drained(WatchStream& stream, CollectingSink& sink) {
    int64_t rev = history_.current_revision();
    stream.request_progress();
    return sink.wait_for([&](const std::vector<WatchResponse>& rs) { return has_progress_at(rs, rev); });
  }

  NullLogger logger_;
  ModelHistory history_;
  std::unique_ptr<WatchHubPlugin> engine_;
};

TEST_P(WatchHubConformance, AWatcherGetsCreatedThenItsEvents) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "a";
  Result<int64_t> id = stream->create(w);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 0);  // etcd numbers a stream's watchers from 0
  write(*hub, {put("a", "1")});
  write(*hub, {put("b", "x")});
  write(*hub, {del("a")});
  ASSERT_TRUE(drained(*stream, sink));
  Received got = collect(sink.responses(), 0);
  EXPECT_EQ(got.violation, "");
  EXPECT_TRUE(got.created);
  ASSERT_EQ(got.events.size(), 2u);
  EXPECT_EQ(got.events[0].type, Event::Type::kPut);
  EXPECT_EQ(got.events[0].kv.value, "1");
  EXPECT_EQ(got.events[0].kv.mod_revision, 2);
  EXPECT_EQ(got.events[1].type, Event::Type::kDelete);
  EXPECT_EQ(got.events[1].kv.mod_revision, 4);
  EXPECT_FALSE(got.events[1].prev_kv.has_value());  // not asked for
  stream.reset();
}

TEST_P(WatchHubConformance, RangesPrefixesAndFromKey) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate prefix;
  prefix.key = "dir/";
  prefix.range_end = "dir0";  // the prefix "dir/"
  WatchCreate from_key;
  from_key.key = "m";
  from_key.range_end = std::string(1, '\0');
  WatchCreate all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  int64_t p = *stream->create(prefix), f = *stream->create(from_key), a = *stream->create(all);
  write(*hub, {put("dir/x", "1"), put("dir0", "2"), put("zeta", "3"), put("a", "4")});
  ASSERT_TRUE(drained(*stream, sink));
  auto keys = [&](int64_t id) {
    std::vector<std::string> ks;
    for (const auto& e : collect(sink.responses(), id).events) ks.push_back(e.kv.key);
    return ks;
  };
  EXPECT_THAT(keys(p), ::testing::ElementsAre("dir/x"));
  EXPECT_THAT(keys(f), ::testing::ElementsAre("zeta"));
  EXPECT_THAT(keys(a), ::testing::ElementsAre("dir/x", "dir0", "zeta", "a"));
}

TEST_P(WatchHubConformance, FiltersAndPrevKv) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate no_put;
  no_put.key = "k";
  no_put.filter_put = true;
  no_put.prev_kv = true;
  WatchCreate no_delete;
  no_delete.key = "k";
  no_delete.filter_delete = true;
  no_delete.prev_kv = true;
  int64_t np = *stream->create(no_put), nd = *stream->create(no_delete);
  write(*hub, {put("k", "v1")});
  write(*hub, {put("k", "v2")});
  write(*hub, {del("k")});
  ASSERT_TRUE(drained(*stream, sink));
  Received deletes = collect(sink.responses(), np);
  ASSERT_EQ(deletes.events.size(), 1u);
  EXPECT_EQ(deletes.events[0].type, Event::Type::kDelete);
  ASSERT_TRUE(deletes.events[0].prev_kv.has_value());
  EXPECT_EQ(deletes.events[0].prev_kv->value, "v2");
  Received puts = collect(sink.responses(), nd);
  ASSERT_EQ(puts.events.size(), 2u);
  EXPECT_FALSE(puts.events[0].prev_kv.has_value());  // a create has no previous value
  ASSERT_TRUE(puts.events[1].prev_kv.has_value());
  EXPECT_EQ(puts.events[1].prev_kv->value, "v1");
}

TEST_P(WatchHubConformance, AStartInThePastCatchesUpFromHistoryThenGoesLive) {
  auto hub = make_hub(/*max_events=*/3);
  for (int i = 0; i < 20; ++i) write(*hub, {put("h", std::to_string(i))});
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "h";
  w.start_revision = 5;
  int64_t id = *stream->create(w);
  ASSERT_TRUE(drained(*stream, sink));
  write(*hub, {put("h", "live")});
  ASSERT_TRUE(drained(*stream, sink));
  Received got = collect(sink.responses(), id);
  EXPECT_EQ(got.violation, "");
  ASSERT_EQ(got.events.size(), 18u);  // revisions 5..21
  for (size_t i = 0; i < got.events.size(); ++i) EXPECT_EQ(got.events[i].kv.mod_revision, 5 + int64_t(i));
  EXPECT_EQ(got.events.back().kv.value, "live");
  EXPECT_GT(history_.reads(), 1);  // caught up in batches of at most 3 events
}

TEST_P(WatchHubConformance, AStartBelowTheCompactionIsCanceledWithItsRevision) {
  auto hub = make_hub();
  for (int i = 0; i < 10; ++i) write(*hub, {put("c", std::to_string(i))});
  history_.compact(6);
  hub->compacted(6);
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "c";
  w.start_revision = 3;
  int64_t id = *stream->create(w);
  ASSERT_TRUE(sink.wait_for([&](const std::vector<WatchResponse>& rs) { return collect(rs, id).canceled; }));
  std::vector<WatchResponse> rs = sink.responses();
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].created);
  EXPECT_TRUE(rs[1].canceled);
  EXPECT_EQ(rs[1].compact_revision, 6);
  // etcd 3.4's answer: no reason, revision 0 (its header's).
  EXPECT_EQ(rs[1].cancel_reason, "");
  EXPECT_EQ(rs[1].revision, 0);
  EXPECT_TRUE(rs[1].events.empty());
  // From the compaction itself it is served, as etcd serves it: from what the compaction kept.
  w.start_revision = 6;
  int64_t at = *stream->create(w);
  w.start_revision = 7;
  int64_t after = *stream->create(w);
  ASSERT_TRUE(drained(*stream, sink));
  Received from_compaction = collect(sink.responses(), at);
  EXPECT_FALSE(from_compaction.canceled);
  ASSERT_EQ(from_compaction.events.size(), 6u);  // revisions 6..11
  EXPECT_EQ(from_compaction.events.front().kv.mod_revision, 6);
  EXPECT_EQ(collect(sink.responses(), after).events.size(), 5u);  // revisions 7..11
}

TEST_P(WatchHubConformance, RevisionsSkippedByAJumpComeFromHistory) {
  // A member's store replaced by its leader's snapshot: revisions 4..8 were never published.
  auto hub = make_hub(/*max_events=*/2);
  write(*hub, {put("j", "1")});
  write(*hub, {put("k", "1")});
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate key;
  key.key = "j";
  int64_t on_key = *stream->create(key);
  WatchCreate all;
  all.key = std::string(1, '\0');
  all.range_end = std::string(1, '\0');
  int64_t on_all = *stream->create(all);
  WatchCreate later;
  later.key = "j";
  later.start_revision = 6;  // waiting for a revision the jump passes
  int64_t from_six = *stream->create(later);
  for (int i = 0; i < 5; ++i) history_.apply({put(i % 2 == 0 ? "j" : "x", "gap" + std::to_string(i))});
  write(*hub, {put("j", "after")});  // revision 9, published
  ASSERT_TRUE(drained(*stream, sink));
  Received k = collect(sink.responses(), on_key);
  EXPECT_EQ(k.violation, "");
  ASSERT_EQ(k.events.size(), 4u);  // revisions 4, 6, 8 from history, then 9
  EXPECT_EQ(k.events[0].kv.mod_revision, 4);
  EXPECT_EQ(k.events[2].kv.mod_revision, 8);
  EXPECT_EQ(k.events[3].kv.value, "after");
  Received a = collect(sink.responses(), on_all);
  EXPECT_EQ(a.violation, "");
  ASSERT_EQ(a.events.size(), 6u);  // 4..9
  for (size_t i = 0; i < a.events.size(); ++i) EXPECT_EQ(a.events[i].kv.mod_revision, 4 + int64_t(i));
  Received f = collect(sink.responses(), from_six);
  EXPECT_EQ(f.violation, "");
  ASSERT_EQ(f.events.size(), 3u);  // 6, 8, 9
  EXPECT_EQ(f.events[0].kv.mod_revision, 6);

  // A jump over revisions compacted meanwhile cancels the watchers that needed them.
  for (int i = 0; i < 3; ++i) history_.apply({put("j", "lost")});
  history_.compact(11);
  hub->compacted(11);
  write(*hub, {put("j", "newest")});
  ASSERT_TRUE(sink.wait_for([&](const std::vector<WatchResponse>& rs) { return collect(rs, on_key).canceled; }));
  Received canceled = collect(sink.responses(), on_key);
  EXPECT_EQ(canceled.compact_revision, 11);
  EXPECT_EQ(canceled.events.size(), 4u);  // nothing after the gap it could not be given
}

TEST_P(WatchHubConformance, AFutureStartWaitsForItsRevision) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "f";
  w.start_revision = history_.current_revision() + 3;
  int64_t id = *stream->create(w);
  for (int i = 0; i < 5; ++i) write(*hub, {put("f", std::to_string(i))});
  ASSERT_TRUE(drained(*stream, sink));
  Received got = collect(sink.responses(), id);
  ASSERT_EQ(got.events.size(), 3u);
  EXPECT_EQ(got.events[0].kv.mod_revision, w.start_revision);
}

TEST_P(WatchHubConformance, WatchIdsCancelAndErrors) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "x";
  w.watch_id = 7;
  EXPECT_EQ(*stream->create(w), 7);
  Result<int64_t> dup = stream->create(w);
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(dup.status().is_invalid_argument());
  EXPECT_EQ(dup.status().message(), "mvcc: duplicate watch ID provided on the WatchStream");
  w.watch_id = 0;
  EXPECT_EQ(*stream->create(w), 0);
  EXPECT_EQ(*stream->create(w), 1);
  ASSERT_TRUE(stream->cancel(7).ok());
  Status gone = stream->cancel(7);
  EXPECT_TRUE(gone.is_not_found());
  EXPECT_EQ(gone.message(), "mvcc: watcher does not exist");
  write(*hub, {put("x", "after cancel")});
  ASSERT_TRUE(drained(*stream, sink));
  Received canceled = collect(sink.responses(), 7);
  EXPECT_TRUE(canceled.canceled);
  EXPECT_EQ(canceled.compact_revision, 0);
  EXPECT_TRUE(canceled.events.empty());
  EXPECT_EQ(collect(sink.responses(), 0).events.size(), 1u);
  WatchCreate backwards;
  backwards.key = "b";
  backwards.range_end = "a";
  Result<int64_t> refused = stream->create(backwards);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), "mvcc: watcher range is empty");
}

TEST_P(WatchHubConformance, ProgressWaitsUntilEveryWatcherOfTheStreamIsSynced) {
  auto hub = make_hub(/*max_events=*/1);
  for (int i = 0; i < 50; ++i) write(*hub, {put("p", std::to_string(i))});
  CollectingSink sink(5);
  sink.set_refuse_percent(70);  // a slow reader
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "p";
  w.start_revision = 2;
  int64_t id = *stream->create(w);
  stream->request_progress();
  sink.set_refuse_percent(0);
  ASSERT_TRUE(sink.wait_for([](const std::vector<WatchResponse>& rs) { return has_progress_at(rs, 51); }));
  // The progress mark came after every event up to it.
  std::vector<WatchResponse> rs = sink.responses();
  size_t events_before_mark = 0;
  for (const auto& r : rs) {
    if (r.watch_id == -1) break;
    if (r.watch_id == id) events_before_mark += r.events.size();
  }
  EXPECT_EQ(events_before_mark, 50u);
  EXPECT_EQ(collect(rs, id).violation, "");
}

TEST_P(WatchHubConformance, IdleProgressNotifyWatchersHearTheRevision) {
  auto hub = make_hub(1000, 1 << 20, /*progress=*/20ms);
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "idle";
  w.progress_notify = true;
  int64_t id = *stream->create(w);
  write(*hub, {put("other", "v")});
  int64_t rev = history_.current_revision();
  ASSERT_TRUE(sink.wait_for([&](const std::vector<WatchResponse>& rs) {
    for (const auto& r : rs) {
      if (r.watch_id == id && !r.created && r.events.empty() && r.revision == rev) return true;
    }
    return false;
  }));
}

TEST_P(WatchHubConformance, FragmentingCutsBigRevisionsOnlyWhenAsked) {
  auto hub = make_hub(1000, /*max_bytes=*/4096);
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate fragmenting;
  fragmenting.key = "big/";
  fragmenting.range_end = "big0";
  fragmenting.fragment = true;
  WatchCreate whole = fragmenting;
  whole.fragment = false;
  int64_t fid = *stream->create(fragmenting), wid = *stream->create(whole);
  std::vector<ModelHistory::Op> ops;
  for (int i = 0; i < 20; ++i) ops.push_back(put("big/" + std::to_string(100 + i), std::string(1000, 'v')));
  write(*hub, ops);
  ASSERT_TRUE(drained(*stream, sink));
  std::vector<WatchResponse> rs = sink.responses();
  int fragments = 0, wholes = 0;
  for (const auto& r : rs) {
    if (r.watch_id == fid && !r.events.empty()) ++fragments;
    if (r.watch_id == wid && !r.events.empty()) ++wholes;
  }
  EXPECT_GT(fragments, 1);
  EXPECT_EQ(wholes, 1);  // one revision, one response
  Received f = collect(rs, fid);
  EXPECT_EQ(f.events.size(), 20u);
  EXPECT_EQ(f.violation, "");
  // Every part but the last says more follows.
  std::vector<bool> flags;
  for (const auto& r : rs) {
    if (r.watch_id == fid && !r.events.empty()) flags.push_back(r.fragment);
  }
  EXPECT_FALSE(flags.back());
  for (size_t i = 0; i + 1 < flags.size(); ++i) EXPECT_TRUE(flags[i]);
}

TEST_P(WatchHubConformance, ClosingAStreamStopsItsDeliveries) {
  auto hub = make_hub();
  CollectingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "z";
  ASSERT_TRUE(stream->create(w).ok());
  stream->close();
  size_t before = sink.responses().size();
  write(*hub, {put("z", "1")});
  EXPECT_EQ(sink.responses().size(), before);
  EXPECT_TRUE(stream->create(w).status().is_failed_precondition());
}

TEST_P(WatchHubConformance, StatsCountWatchersAndSlowOnes) {
  auto hub = make_hub();
  EXPECT_EQ(hub->stats().watchers, 0u);
  CollectingSink sink_a, sink_b;
  auto a = std::move(hub->open_stream(&sink_a)).value();
  auto b = std::move(hub->open_stream(&sink_b)).value();
  WatchCreate w;
  w.key = "s";
  ASSERT_TRUE(a->create(w).ok());
  ASSERT_TRUE(a->create(w).ok());
  ASSERT_TRUE(b->create(w).ok());
  EXPECT_EQ(hub->stats().watchers, 3u);
  EXPECT_EQ(hub->stats().slow_watchers, 0u);
  ASSERT_TRUE(a->cancel(0).ok());
  EXPECT_EQ(hub->stats().watchers, 2u);
  b->close();
  EXPECT_EQ(hub->stats().watchers, 1u) << "a closed stream's watchers are gone";
  // A watcher whose stream takes nothing stays behind: slow until its client reads again.
  for (int i = 0; i < 20; ++i) write(*hub, {put("s", std::to_string(i))});
  sink_a.set_refuse_percent(100);
  WatchCreate past = w;
  past.start_revision = 2;
  ASSERT_TRUE(a->create(past).ok());
  EXPECT_EQ(hub->stats().watchers, 2u);
  EXPECT_EQ(hub->stats().slow_watchers, 1u);
  sink_a.set_refuse_percent(0);
  ASSERT_TRUE(drained(*a, sink_a));
  EXPECT_EQ(hub->stats().slow_watchers, 0u);
  a.reset();
  b.reset();
  EXPECT_EQ(hub->stats().watchers, 0u);
}

// etcd's watch validation over random histories: thousands of watchers on random keys and ranges
// with random start revisions, filters and prev_kv, through random writes and compactions, with
// streams that refuse responses at random.
TEST_P(WatchHubConformance, RandomHistoriesAreDeliveredReliably) {
  const char* env = std::getenv("KEEL_WATCH_SEED");
  const uint64_t seed = env != nullptr ? std::stoull(env) : std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: KEEL_WATCH_SEED=" + std::to_string(seed) + ")");
  std::mt19937_64 rng(seed);
  auto hub = make_hub(/*max_events=*/1 + rng() % 50, /*max_bytes=*/2048);
  auto key = [&] { return std::string(1, static_cast<char>('a' + rng() % 12)) + std::to_string(rng() % 4); };

#if defined(__SANITIZE_ADDRESS__)
  constexpr int kScale = 4;  // the sanitizer build runs this 10 times slower; the same rules, less load
#else
  constexpr int kScale = 1;
#endif
  constexpr int kStreams = 8, kWatchersPerStream = 250 / kScale, kRevisions = 300 / kScale;
  std::vector<std::unique_ptr<CollectingSink>> sinks;
  std::vector<std::unique_ptr<WatchStream>> streams;
  struct Made {
    int stream;
    int64_t id;
    WatchCreate spec;
    int64_t first;  // the first revision it must see
  };
  std::vector<Made> made;
  int64_t compacted = 0;
  std::set<int64_t> compactions;
  for (int s = 0; s < kStreams; ++s) {
    sinks.push_back(std::make_unique<CollectingSink>(rng()));
    sinks.back()->set_refuse_percent(static_cast<int>(rng() % 3) * 20);
    streams.push_back(std::move(hub->open_stream(sinks.back().get())).value());
  }
  for (int r = 0; r < kRevisions; ++r) {
    std::vector<ModelHistory::Op> ops;
    std::set<std::string> used;
    for (int n = 1 + static_cast<int>(rng() % 4); n > 0; --n) {
      std::string k = key();
      if (!used.insert(k).second) continue;
      ops.push_back(rng() % 4 == 0 ? del(k) : put(k, "v" + std::to_string(r)));
    }
    write(*hub, ops);
    if (rng() % 150 == 0) {
      compacted = history_.current_revision() - 40 - static_cast<int64_t>(rng() % 40);
      history_.compact(compacted);
      hub->compacted(compacted);
      compactions.insert(compacted);
    }
    // New watchers as the history grows.
    for (int n = 0; n < kStreams * kWatchersPerStream / kRevisions + 1; ++n) {
      if (made.size() >= size_t{kStreams * kWatchersPerStream}) break;
      WatchCreate w;
      w.key = key();
      switch (rng() % 3) {
        case 0: break;
        case 1: w.range_end = std::string(1, static_cast<char>(w.key[0] + 1 + rng() % 3)); break;
        case 2: w.range_end = std::string(1, '\0'); break;
      }
      w.filter_put = rng() % 8 == 0;
      w.filter_delete = rng() % 8 == 0;
      w.prev_kv = rng() % 2 == 0;
      w.fragment = rng() % 4 == 0;
      int64_t current = history_.current_revision();
      // Mostly from what history still holds; now and then from before the compaction.
      int64_t oldest = rng() % 10 == 0 ? 1 : std::max<int64_t>(1, compacted);
      w.start_revision = rng() % 3 == 0 ? 0 : oldest + static_cast<int64_t>(rng() % (current + 5 - oldest));
      int s = static_cast<int>(rng() % kStreams);
      Result<int64_t> id = streams[s]->create(w);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      made.push_back(Made{s, *id, w, w.start_revision == 0 ? current + 1 : w.start_revision});
    }
  }
  for (int s = 0; s < kStreams; ++s) {
    sinks[s]->set_refuse_percent(0);
    ASSERT_TRUE(drained(*streams[s], *sinks[s])) << "stream " << s << " never caught up";
  }

  const int64_t last = history_.current_revision();
  int checked = 0, compacted_away = 0;
  for (const Made& m : made) {
    Received got = collect(sinks[m.stream]->responses(), m.id);
    SCOPED_TRACE("stream " + std::to_string(m.stream) + " watch " + std::to_string(m.id) + " key " + m.spec.key +
                 " start " + std::to_string(m.spec.start_revision));
    ASSERT_EQ(got.violation, "");
    ASSERT_TRUE(got.created);
    std::vector<Event> want = filtered(history_.expected(m.spec.key, m.spec.range_end, m.first, last), m.spec);
    if (got.canceled) {
      // Only for a compaction that happened, past what it had received, and with a gap-free
      // prefix of what it should have had.
      ASSERT_EQ(compactions.count(got.compact_revision), 1u) << got.compact_revision;
      if (!got.events.empty()) {
        ASSERT_LT(got.events.back().kv.mod_revision, got.compact_revision);
      }
      ASSERT_LE(got.events.size(), want.size());
      want.resize(got.events.size());
      ++compacted_away;
    }
    ASSERT_EQ(got.events.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got.events[i], want[i]) << "event " << i;
    }
    ++checked;
  }
  std::printf("checked %d watchers over %lld revisions (%d canceled by compaction)\n", checked,
              static_cast<long long>(last), compacted_away);
  streams.clear();
}

INSTANTIATE_TEST_SUITE_P(Plugins, WatchHubConformance, ::testing::Values("default"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace keel::testing
