// Micro-benchmarks of the MVCC store over each backend plugin (loaded through the plugin host as
// keeld loads it): puts in batched commits, point and prefix reads, compare-and-swap txns, and a
// point read while many applied writes wait in the overlay (a read must not get slower with the
// overlay's size: it copies nothing it does not return).
// Run: build/bin/mvcc_bench [--benchmark_filter=lmdb]
#include <malloc.h>

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "keel/plugin.h"
#include "mvcc/mvcc.h"
#include "plugin_host/plugin_host.h"

namespace {

using keel::mvcc::KvStore;

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

// A store in a fresh temp dir, removed afterwards. Commits are unsynced, by count only.
struct Fixture {
  Fixture(const std::string& name, size_t batch_limit) {
    char tmpl[] = "/tmp/keel-mvcc-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    plugin = load(name);
    if (plugin == nullptr) return;
    keel::BackendOptions o;
    o.dir = dir + "/store";
    auto b = plugin->open(o);
    if (!b.ok()) return;
    backend = std::move(*b);
    keel::mvcc::StoreOptions so;
    so.batch_limit = batch_limit;
    so.batch_interval = std::chrono::milliseconds(0);
    so.sync_commits = false;
    auto s = KvStore::open(*backend, so);
    if (s.ok()) store = std::move(*s);
  }
  ~Fixture() {
    store.reset();
    backend.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  bool ok(benchmark::State& state) {
    if (store) return true;
    state.SkipWithError("cannot open the store");
    return false;
  }
  void put(const std::string& key, const std::string& value) {
    keel::mvcc::PutRequest p;
    p.key = key;
    p.value = value;
    (void)store->put(p, ++index);
  }
  std::string dir;
  std::unique_ptr<keel::BackendPlugin> plugin;
  std::unique_ptr<keel::Backend> backend;
  std::unique_ptr<KvStore> store;
  uint64_t index = 0;
};

std::string key_of(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key/%08lld", static_cast<long long>(i));
  return buf;
}

void BM_Put(benchmark::State& state, const std::string& name) {
  Fixture f(name, 10000);
  if (!f.ok(state)) return;
  const std::string value(static_cast<size_t>(state.range(0)), 'v');
  int64_t i = 0;
  for (auto _ : state) f.put(key_of(i++ % 100000), value);
  state.SetItemsProcessed(state.iterations());
}

void BM_GetCommitted(benchmark::State& state, const std::string& name) {
  Fixture f(name, 10000);
  if (!f.ok(state)) return;
  for (int64_t i = 0; i < 10000; ++i) f.put(key_of(i), std::string(100, 'v'));
  (void)f.store->force_commit();
  keel::mvcc::RangeRequest r;
  int64_t i = 0;
  for (auto _ : state) {
    r.key = key_of(i++ % 10000);
    benchmark::DoNotOptimize(f.store->range(r));
  }
  state.SetItemsProcessed(state.iterations());
}

// A point read while state.range(0) applied writes wait uncommitted in the overlay.
void BM_GetWithPendingWrites(benchmark::State& state, const std::string& name) {
  const auto pending = state.range(0);
  Fixture f(name, static_cast<size_t>(pending) + 10);
  if (!f.ok(state)) return;
  for (int64_t i = 0; i < pending; ++i) f.put(key_of(i), std::string(100, 'v'));
  keel::mvcc::RangeRequest r;
  int64_t i = 0;
  for (auto _ : state) {
    r.key = key_of(i++ % pending);
    benchmark::DoNotOptimize(f.store->range(r));
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RangePrefix100(benchmark::State& state, const std::string& name) {
  Fixture f(name, 10000);
  if (!f.ok(state)) return;
  for (int64_t i = 0; i < 10000; ++i) f.put(key_of(i), std::string(100, 'v'));
  (void)f.store->force_commit();
  keel::mvcc::RangeRequest r;
  int64_t i = 0;
  for (auto _ : state) {
    const int64_t start = (i++ % 99) * 100;
    r.key = key_of(start);
    r.range_end = key_of(start + 100);
    benchmark::DoNotOptimize(f.store->range(r));
  }
  state.SetItemsProcessed(state.iterations() * 100);
}

// Ranges of 1, 100 or 10,000 keys out of 20,000.
void BM_Range(benchmark::State& state, const std::string& name) {
  Fixture f(name, 10000);
  if (!f.ok(state)) return;
  const int64_t keys = 20000, n = state.range(0);
  for (int64_t i = 0; i < keys; ++i) f.put(key_of(i), std::string(100, 'v'));
  (void)f.store->force_commit();
  keel::mvcc::RangeRequest r;
  int64_t i = 0;
  for (auto _ : state) {
    const int64_t start = (i++ * 7919) % (keys - n + 1);
    r.key = key_of(start);
    r.range_end = n == 1 ? "" : key_of(start + n);
    benchmark::DoNotOptimize(f.store->range(r));
  }
  state.SetItemsProcessed(state.iterations() * n);
}

// Compaction: 100 keys rewritten 100 times each, then compacted to the newest revision and purged
// from the Backend (etcd's physical compaction); items are the revisions compacted away.
void BM_Compact(benchmark::State& state, const std::string& name) {
  int64_t compacted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    Fixture f(name, 10000);
    if (!f.ok(state)) return;
    for (int64_t round = 0; round < 100; ++round) {
      for (int64_t k = 0; k < 100; ++k) f.put(key_of(k), std::to_string(round));
    }
    (void)f.store->force_commit();
    const int64_t rev = f.store->current_revision();
    state.ResumeTiming();
    benchmark::DoNotOptimize(f.store->compact(rev, ++f.index));
    (void)f.store->wait_compaction();
    compacted += rev - 100;
  }
  state.SetItemsProcessed(compacted);
}

// Heap per key in the key index: 1M distinct keys put (lmdb keeps its data in a memory map, not
// on the heap, so the heap growth is the key index's and the store's bookkeeping).
void BM_KeyIndexMemory(benchmark::State& state, const std::string& name) {
  for (auto _ : state) {
    Fixture f(name, 100000);
    if (!f.ok(state)) return;
    (void)f.store->force_commit();
    const size_t before = mallinfo2().uordblks;
    for (int64_t i = 0; i < 1000000; ++i) f.put(key_of(i), "v");
    (void)f.store->force_commit();
    const size_t after = mallinfo2().uordblks;
    state.counters["heap_MiB_per_1M_keys"] = static_cast<double>(after - before) / (1 << 20);
  }
}

void BM_TxnCompareAndPut(benchmark::State& state, const std::string& name) {
  Fixture f(name, 10000);
  if (!f.ok(state)) return;
  f.put("counter", "0");
  int64_t version = 1;
  for (auto _ : state) {
    keel::mvcc::TxnRequest t;
    keel::mvcc::Compare c;
    c.key = "counter";
    c.target = keel::mvcc::Compare::Target::kVersion;
    c.version = version++;
    t.compare.push_back(c);
    keel::mvcc::PutRequest p;
    p.key = "counter";
    p.value = std::to_string(version);
    t.success.push_back(keel::mvcc::RequestOp{p});
    benchmark::DoNotOptimize(f.store->txn(t, ++f.index));
  }
  state.SetItemsProcessed(state.iterations());
}

void register_all() {
  for (const std::string name : {"lmdb", "leveldb"}) {
    benchmark::RegisterBenchmark(("Put/" + name).c_str(), BM_Put, name)->Arg(100)->Arg(4096);
    benchmark::RegisterBenchmark(("GetCommitted/" + name).c_str(), BM_GetCommitted, name);
    benchmark::RegisterBenchmark(("GetWithPendingWrites/" + name).c_str(), BM_GetWithPendingWrites,
                                 name)
        ->Arg(100)
        ->Arg(10000);
    benchmark::RegisterBenchmark(("RangePrefix100/" + name).c_str(), BM_RangePrefix100, name);
    benchmark::RegisterBenchmark(("Range/" + name).c_str(), BM_Range, name)->Arg(1)->Arg(100)->Arg(10000);
    benchmark::RegisterBenchmark(("Compact/" + name).c_str(), BM_Compact, name)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);
    if (name == "lmdb") {
      benchmark::RegisterBenchmark("KeyIndexMemory/lmdb", BM_KeyIndexMemory, name)->Iterations(1)->Unit(benchmark::kMillisecond);
    }
    benchmark::RegisterBenchmark(("TxnCompareAndPut/" + name).c_str(), BM_TxnCompareAndPut, name);
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
