// Watch fan-out: 10,000 watchers on one key, or each on its own key, while one writer publishes
// revisions; events delivered per second. The history is empty (every watcher starts synced), so
// this measures publish() and delivery, the apply thread's share of watching.
//
//   build/bin/watch_hub_bench
#include <benchmark/benchmark.h>

#include <atomic>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"

namespace keel {
namespace {

class NullLogger : public Logger {
 public:
  void log(LogLevel, std::string_view) override {}
};

class NoHistory : public EventHistory {
 public:
  Status read_events(const std::string&, const std::string&, int64_t, int64_t, size_t, bool, std::vector<Event>*,
                     int64_t*) override {
    return Status::OK();
  }
  int64_t current_revision() override { return 1; }
  int64_t compacted_revision() override { return 0; }
};

class CountingSink : public WatchSink {
 public:
  bool deliver(WatchResponse& r) override {
    events += r.events.size();
    return true;
  }
  std::atomic<uint64_t> events{0};
};

std::unique_ptr<WatchHubPlugin> load(const std::string& name) {
  static NullLogger logger;
  plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
  auto plugin = host.resolve(PluginKind::kWatchHub, name);
  PluginConfig settings("watch_hub." + name);
  return std::move(plugin_host::create_watch_hub(*plugin, PluginContext{settings, logger})).value();
}

// range(0): watchers; range(1): 1 = all on one key, 0 = each on its own key.
void BM_FanOut(benchmark::State& state) {
  static std::unique_ptr<WatchHubPlugin> engine = load("default");
  NoHistory history;
  WatchHubOptions options;
  options.history = &history;
  auto hub = std::move(engine->create(options)).value();
  CountingSink sink;
  auto stream = std::move(hub->open_stream(&sink)).value();
  const int64_t watchers = state.range(0);
  const bool one_key = state.range(1) == 1;
  for (int64_t i = 0; i < watchers; ++i) {
    WatchCreate w;
    w.key = one_key ? "hot" : "key" + std::to_string(i);
    stream->create(w);
  }
  int64_t revision = 1;
  Event e;
  e.kv.value = std::string(64, 'v');
  for (auto _ : state) {
    ++revision;
    // One revision touching one key (one key: every watcher gets it; distinct keys: one does).
    e.kv.key = one_key ? "hot" : "key" + std::to_string(revision % watchers);
    e.kv.mod_revision = revision;
    hub->publish(revision, {e});
  }
  state.counters["events_per_second"] =
      benchmark::Counter(static_cast<double>(sink.events.load()), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations());  // revisions published
  stream.reset();
}
BENCHMARK(BM_FanOut)->Args({10000, 1})->Args({10000, 0})->Args({100, 1})->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace keel

BENCHMARK_MAIN();
