// The watch hub over the real store: watchers that start in the past are caught up from the KV
// store's history (StoreHistory) on each backend, with prev_kv, compaction and live events after.
#include "mvcc/store_history.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <random>

#include "keel/plugin.h"
#include "mvcc_test_util.h"
#include "plugin_host/plugin_host.h"

namespace keel::mvcc::testing {
namespace {

using namespace std::chrono_literals;

class NullLogger : public Logger {
 public:
  void log(LogLevel, std::string_view) override {}
};

class Sink : public WatchSink {
 public:
  bool deliver(WatchResponse& r) override {
    std::lock_guard<std::mutex> lock(mu_);
    all.push_back(r);
    cv_.notify_all();
    return true;
  }
  bool wait_progress(int64_t revision) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 60s, [&] {
      for (const auto& r : all) {
        if (r.watch_id == -1 && r.revision >= revision) return true;
      }
      return false;
    });
  }
  std::vector<Event> events_of(int64_t id, bool* canceled = nullptr) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Event> out;
    for (const auto& r : all) {
      if (r.watch_id != id) continue;
      if (canceled != nullptr && r.canceled) *canceled = true;
      out.insert(out.end(), r.events.begin(), r.events.end());
    }
    return out;
  }
  std::vector<WatchResponse> all;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

class StoreHistoryTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (store_ == nullptr) return;
    plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
    auto plugin = host.resolve(PluginKind::kWatchHub, "default");
    ASSERT_TRUE(plugin.ok()) << plugin.status().to_string();
    PluginConfig settings("watch_hub.default");
    hub_engine_ = std::move(plugin_host::create_watch_hub(*plugin, PluginContext{settings, logger_})).value();
    history_ = std::make_unique<StoreHistory>(*store_);
    WatchHubOptions options;
    options.history = history_.get();
    options.max_events_per_response = 7;
    hub_ = std::move(hub_engine_->create(options)).value();
  }
  void TearDown() override {
    stream_.reset();
    hub_.reset();
    StoreTest::TearDown();
  }

  // One write through the store, published as the member will: with prev_kv where there was one.
  void write(bool put, const std::string& key, const std::string& value) {
    std::vector<Event> events;
    if (put) {
      PutRequest p;
      p.key = key;
      p.value = value;
      ASSERT_TRUE(store_->put(p, ++index_, &events).ok());
    } else {
      DeleteRangeRequest d;
      d.key = key;
      ASSERT_TRUE(store_->delete_range(d, ++index_, &events).ok());
    }
    for (auto& e : events) {
      auto it = model_.find(key);
      if (it != model_.end()) e.prev_kv = it->second;
      if (put) {
        model_[key] = e.kv;
      } else {
        model_.erase(key);
      }
      log_.push_back(e);
    }
    if (!events.empty()) hub_->publish(store_->current_revision(), events);
  }

  NullLogger logger_;
  std::unique_ptr<WatchHubPlugin> hub_engine_;
  std::unique_ptr<StoreHistory> history_;
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<WatchStream> stream_;
  uint64_t index_ = 0;
  std::map<std::string, KeyValue> model_;
  std::vector<Event> log_;  // every event, with prev_kv
};

TEST_P(StoreHistoryTest, PastStartsAreCaughtUpFromTheStoreWithPrevKv) {
  if (store_ == nullptr) {
    GTEST_SKIP();
  }
  std::mt19937_64 rng(11);
  for (int i = 0; i < 120; ++i) {
    write(rng() % 4 != 0, "k" + std::to_string(rng() % 9), "v" + std::to_string(i));
    if (i % 40 == 0) {
      ASSERT_TRUE(store_->force_commit().ok());  // history both committed and not
    }
  }
  Sink sink;
  stream_ = std::move(hub_->open_stream(&sink)).value();
  struct Watch {
    int64_t id;
    WatchCreate spec;
  };
  std::vector<Watch> watches;
  for (int64_t start : {2, 17, 60, 119}) {
    for (bool prev : {false, true}) {
      WatchCreate w;
      w.key = "k";
      w.range_end = "l";
      w.start_revision = start;
      w.prev_kv = prev;
      watches.push_back(Watch{*stream_->create(w), w});
    }
  }
  for (int i = 0; i < 10; ++i) write(true, "k" + std::to_string(i % 9), "live" + std::to_string(i));
  stream_->request_progress();
  ASSERT_TRUE(sink.wait_progress(store_->current_revision()));
  for (const Watch& w : watches) {
    std::vector<Event> want;
    for (Event e : log_) {
      if (e.kv.mod_revision < w.spec.start_revision) continue;
      if (!w.spec.prev_kv) e.prev_kv.reset();
      want.push_back(e);
    }
    std::vector<Event> got = sink.events_of(w.id);
    ASSERT_EQ(got.size(), want.size()) << "start " << w.spec.start_revision;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << "start " << w.spec.start_revision << " prev " << w.spec.prev_kv << " event " << i;
    }
  }
}

TEST_P(StoreHistoryTest, AStartBelowTheCompactionIsCanceledOneAtItIsServed) {
  if (store_ == nullptr) {
    GTEST_SKIP();
  }
  for (int i = 0; i < 30; ++i) write(true, "c", std::to_string(i));
  ASSERT_TRUE(store_->compact(20, ++index_).ok());
  hub_->compacted(20);
  Sink sink;
  stream_ = std::move(hub_->open_stream(&sink)).value();
  WatchCreate w;
  w.key = "c";
  w.start_revision = 19;
  int64_t below = *stream_->create(w);
  w.start_revision = 20;
  int64_t at = *stream_->create(w);
  w.start_revision = 21;
  int64_t after = *stream_->create(w);
  stream_->request_progress();
  ASSERT_TRUE(sink.wait_progress(store_->current_revision()));
  bool canceled = false;
  EXPECT_TRUE(sink.events_of(below, &canceled).empty());
  EXPECT_TRUE(canceled);
  // etcd's rule: from the compacted revision itself, what the compaction kept (the key's put).
  canceled = false;
  std::vector<Event> from_compaction = sink.events_of(at, &canceled);
  EXPECT_FALSE(canceled);
  ASSERT_EQ(from_compaction.size(), 12u);  // revisions 20..31
  EXPECT_EQ(from_compaction.front().kv.mod_revision, 20);
  EXPECT_EQ(sink.events_of(after).size(), 11u);  // revisions 21..31
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreHistoryTest, ::testing::Values("lmdb", "leveldb"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace keel::mvcc::testing
