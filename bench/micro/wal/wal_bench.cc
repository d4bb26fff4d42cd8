// The WAL's throughput and latency: acknowledged (synced) appends from 1, 8 and 64 concurrent
// writers sharing group commits, with entries of 256 B and 4 KiB; and the disk's raw fdatasync
// rate, the physical limit of a durable commit. Files go to $KEEL_BENCH_DIR (default /tmp).
//
//   build/bin/wal_bench --benchmark_counters_tabular=true
#include <fcntl.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "wal/wal.h"

namespace keel::wal {
namespace {

std::string bench_dir(const char* name) {
  const char* root = std::getenv("KEEL_BENCH_DIR");
  std::string dir = std::string(root != nullptr ? root : "/tmp") + "/keel-wal-bench-" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// One log shared by every thread of a run: made by thread 0, torn down by it.
std::unique_ptr<Wal> g_wal;
std::atomic<uint64_t> g_index{0};

void BM_SyncedAppend(benchmark::State& state) {
  const size_t entry_bytes = static_cast<size_t>(state.range(0));
  if (state.thread_index() == 0) {
    g_wal = std::move(Wal::create(posix_file_system(), bench_dir("append"), WalMetadata{1, 1}, WalOptions{})).value();
    g_index = 0;
  }
  std::vector<double> latencies_us;
  raft::Entry entry;
  entry.term = 1;
  entry.data.assign(entry_bytes, 'v');
  for (auto _ : state) {
    entry.index = ++g_index;
    auto start = std::chrono::steady_clock::now();
    Status s = g_wal->save({}, {entry}, true);
    auto end = std::chrono::steady_clock::now();
    if (!s.ok()) state.SkipWithError(s.to_string().c_str());
    latencies_us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto pct = [&](double p) {
    return latencies_us.empty() ? 0.0 : latencies_us[static_cast<size_t>(p * (latencies_us.size() - 1))];
  };
  state.counters["p50_us"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(entry_bytes));
}
BENCHMARK(BM_SyncedAppend)
    ->Arg(256)->Arg(4096)
    ->Threads(1)->Threads(8)->Threads(64)
    ->UseRealTime()
    ->MinTime(2.0);

// The disk's own limit: one 256-byte write and fdatasync at a time, in a preallocated file.
void BM_RawFdatasync(benchmark::State& state) {
  std::string dir = bench_dir("raw");
  std::filesystem::create_directories(dir);
  std::string path = dir + "/raw";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::posix_fallocate(fd, 0, 64 << 20);
  std::string block(256, 'r');
  off_t offset = 0;
  for (auto _ : state) {
    if (::pwrite(fd, block.data(), block.size(), offset) != static_cast<ssize_t>(block.size()) || ::fdatasync(fd) != 0) {
      state.SkipWithError("write or fdatasync failed");
    }
    offset = (offset + static_cast<off_t>(block.size())) % (64 << 20);
  }
  ::close(fd);
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawFdatasync)->UseRealTime()->MinTime(2.0);

}  // namespace
}  // namespace keel::wal

BENCHMARK_MAIN();
