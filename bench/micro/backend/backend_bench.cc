// Micro-benchmarks of the backend plugins, each loaded through the plugin host as keeld loads it:
// commits (batched unsynced, single synced), point reads, range scans, read-transaction cost and
// streamed copies. Run: build/bin/backend_bench [--benchmark_filter=lmdb]
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"

namespace {

class QuietLogger : public keel::Logger {
 public:
  void log(keel::LogLevel, std::string_view) override {}
};

std::unique_ptr<keel::BackendPlugin> load(const std::string& name) {
  static auto* host = new keel::plugin_host::PluginHost({KEEL_PLUGIN_BUILD_DIR});
  static auto* logger = new QuietLogger();
  static auto* config = new keel::PluginConfig("backend." + name);
  auto plugin = host->resolve(keel::PluginKind::kBackend, name);
  if (!plugin.ok()) return nullptr;
  keel::PluginContext context{*config, *logger};
  auto made = keel::plugin_host::create_backend(*plugin, context);
  return made.ok() ? std::move(*made) : nullptr;
}

// A store in a fresh temp dir, removed afterwards.
struct Fixture {
  explicit Fixture(const std::string& name) {
    char tmpl[] = "/tmp/keel-backend-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    plugin = load(name);
    if (plugin == nullptr) return;
    keel::BackendOptions o;
    o.dir = dir + "/store";
    auto s = plugin->open(o);
    if (s.ok()) store = std::move(*s);
    if (store) (void)store->create_bucket("key");
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  bool ok(benchmark::State& state) {
    if (store) return true;
    state.SkipWithError("cannot open the store");
    return false;
  }
  std::string dir;
  std::unique_ptr<keel::BackendPlugin> plugin;
  std::unique_ptr<keel::Backend> store;
};

std::string key_of(int64_t i) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "%016lld", static_cast<long long>(i));
  return buf;
}

void fill(keel::Backend& store, int64_t n, size_t value_size) {
  std::string value(value_size, 'v');
  for (int64_t i = 0; i < n;) {
    keel::WriteBatch w;
    for (int j = 0; j < 1000 && i < n; ++j, ++i) w.put("key", key_of(i), value);
    (void)store.commit(w, false);
  }
}

void BM_CommitBatch(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  const int64_t batch = state.range(0);
  std::string value(256, 'v');
  int64_t next = 0;
  for (auto _ : state) {
    keel::WriteBatch w;
    for (int64_t j = 0; j < batch; ++j) w.put("key", key_of(next++), value);
    if (!f.store->commit(w, false).ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void BM_CommitSynced(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  int64_t next = 0;
  for (auto _ : state) {
    keel::WriteBatch w;
    w.put("key", key_of(next++), std::string(256, 'v'));
    if (!f.store->commit(w, true).ok()) state.SkipWithError("commit failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_PointGet(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  const int64_t n = 100000;
  fill(*f.store, n, 256);
  auto tx = f.store->begin_read();
  std::string value;
  int64_t i = 0;
  for (auto _ : state) {
    i = (i + 7919) % n;
    if (!(*tx)->get("key", key_of(i), &value).ok()) state.SkipWithError("get failed");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ReadTxGet(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  fill(*f.store, 1000, 256);
  std::string value;
  for (auto _ : state) {
    auto tx = f.store->begin_read();
    benchmark::DoNotOptimize((*tx)->get("key", key_of(500), &value));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RangeScan(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  const int64_t n = 100000, len = state.range(0);
  fill(*f.store, n, 256);
  auto tx = f.store->begin_read();
  int64_t start = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    start = (start + 7919) % (n - len);
    auto c = (*tx)->cursor("key");
    int64_t k = 0;
    for ((*c)->seek(key_of(start)); (*c)->valid() && k < len; (*c)->next(), ++k) {
      bytes += (*c)->value().size();
    }
  }
  state.SetItemsProcessed(state.iterations() * len);
  benchmark::DoNotOptimize(bytes);
}

class NullSink : public keel::ByteSink {
 public:
  keel::Status write(std::string_view data) override {
    bytes += data.size();
    return keel::Status::OK();
  }
  uint64_t bytes = 0;
};

void BM_CopyTo(benchmark::State& state, std::string name) {
  Fixture f(name);
  if (!f.ok(state)) return;
  fill(*f.store, 50000, 1000);
  uint64_t total = 0;
  for (auto _ : state) {
    NullSink sink;
    if (!f.store->copy_to(sink).ok()) state.SkipWithError("copy failed");
    total += sink.bytes;
  }
  state.SetBytesProcessed(static_cast<int64_t>(total));
}

void register_all() {
  for (const std::string name : {"lmdb", "leveldb"}) {
    benchmark::RegisterBenchmark(("commit_batch/" + name).c_str(), BM_CommitBatch, name)
        ->Arg(1)->Arg(100)->Arg(1000);
    benchmark::RegisterBenchmark(("commit_synced/" + name).c_str(), BM_CommitSynced, name);
    benchmark::RegisterBenchmark(("point_get/" + name).c_str(), BM_PointGet, name);
    benchmark::RegisterBenchmark(("read_tx_get/" + name).c_str(), BM_ReadTxGet, name);
    benchmark::RegisterBenchmark(("range_scan/" + name).c_str(), BM_RangeScan, name)
        ->Arg(10)->Arg(1000);
    benchmark::RegisterBenchmark(("copy_to/" + name).c_str(), BM_CopyTo, name)
        ->Unit(benchmark::kMillisecond);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
