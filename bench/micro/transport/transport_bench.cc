// Peer transport throughput: one sender streams frames on the bulk lane (where Raft's appends go)
// to 1 or 3 receivers, each transport plugin loaded through the plugin host as keeld loads it,
// over real sockets on 127.0.0.1. An iteration sends a batch of frames to every receiver and ends
// once every receiver has counted all of its batch, so the figures are frames and bytes delivered
// per second of wall time (items_per_second, bytes_per_second), the sender's copies and the
// receivers' handler calls included.
//
// A batch fits the transport's default queue bounds (4,096 frames, 64 MiB per peer and lane), so
// nothing is dropped for want of room: a drop or an unreachable report is a failure, as is a batch
// not delivered within kWait.
//
//   build/bin/transport_bench [--benchmark_filter=tcp]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"

namespace keel {
namespace {

// The bound on waiting for one batch to arrive (generous: the machine may be busy with builds).
constexpr std::chrono::seconds kWait{30};

// Drops debug and info lines; keeps the last warning or error, for the message of a failed run.
class LastWordLogger : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    if (level < LogLevel::kWarn) return;
    std::lock_guard<std::mutex> lock(mu_);
    last_ = message;
  }
  std::string last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  mutable std::mutex mu_;
  std::string last_;
};

// A receiver's handler: counts frames and bytes; the benchmark thread waits for a count.
class CountingHandler : public TransportHandler {
 public:
  void on_message(MemberId, std::string) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++frames_;
    // Only the frame the waiter is waiting for wakes it: no futex call per frame.
    if (frames_ == target_) cv_.notify_one();
  }
  void on_unreachable(MemberId) override { unreachable_.fetch_add(1, std::memory_order_relaxed); }
  Status on_snapshot(MemberId, std::string_view, ByteSource&) override {
    return Status::NotSupported("transport_bench sends no snapshots");
  }

  // True once `frames` frames in all have arrived; false if they did not within kWait.
  bool wait_for(uint64_t frames) {
    std::unique_lock<std::mutex> lock(mu_);
    target_ = frames;
    return cv_.wait_for(lock, kWait, [&] { return frames_ >= frames; });
  }
  uint64_t frames() const {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }
  int unreachable() const { return unreachable_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  uint64_t frames_ = 0;
  uint64_t target_ = 0;
  std::atomic<int> unreachable_{0};
};

LastWordLogger& logger() {
  static auto* logger = new LastWordLogger();  // outlives every plugin object, as keeld's does
  return *logger;
}

// The plugin's engine, loaded once per name and kept (plugins are never unloaded); nullptr and
// `why` if it cannot be loaded.
TransportPlugin* engine(const std::string& name, std::string* why) {
  static auto* host = new plugin_host::PluginHost({KEEL_PLUGIN_BUILD_DIR});
  static auto* engines = new std::map<std::string, std::unique_ptr<TransportPlugin>>();
  static auto* configs = new std::map<std::string, std::unique_ptr<PluginConfig>>();
  auto it = engines->find(name);
  if (it != engines->end()) return it->second.get();
  Result<plugin_host::LoadedPlugin> plugin = host->resolve(PluginKind::kTransport, name);
  if (!plugin.ok()) {
    *why = plugin.status().to_string();
    return nullptr;
  }
  auto& config = (*configs)[name];
  config = std::make_unique<PluginConfig>("transport." + name);
  auto made = plugin_host::create_transport(*plugin, PluginContext{*config, logger()});
  if (!made.ok()) {
    *why = made.status().to_string();
    return nullptr;
  }
  return engines->emplace(name, std::move(made).value()).first->second.get();
}

// One started transport and the handler it calls (declared first: it outlives the transport).
struct Member {
  MemberId id = 0;
  CountingHandler handler;
  std::unique_ptr<Transport> transport;
  std::string url;
};

// A sender (member 1) and `receivers` receivers (2, 3, ...), every one a peer of every other as
// in a cluster, each on a free port of 127.0.0.1.
class Cluster {
 public:
  Status start(TransportPlugin* plugin, int receivers) {
    for (int i = 0; i <= receivers; ++i) {
      auto m = std::make_unique<Member>();
      m->id = static_cast<MemberId>(i + 1);
      TransportOptions options;
      options.local_id = m->id;
      options.cluster_id = 0x6b65656c;
      options.listen_urls = {"http://127.0.0.1:0"};
      options.handler = &m->handler;
      Result<std::unique_ptr<Transport>> t = plugin->start(options);
      if (!t.ok()) return t.status();
      m->transport = std::move(t).value();
      std::vector<std::string> urls = m->transport->listen_urls();
      if (urls.empty()) return Status::Internal("listen_urls() is empty");
      m->url = urls[0];
      members_.push_back(std::move(m));
    }
    for (auto& a : members_) {
      for (auto& b : members_) {
        if (a == b) continue;
        Status s = a->transport->add_peer(b->id, {b->url});
        if (!s.ok()) return s;
      }
    }
    return Status::OK();
  }

  ~Cluster() {
    // Receivers first, the sender last: its queues may still hold frames of a failed run.
    while (!members_.empty()) members_.pop_back();
  }

  Member& sender() { return *members_[0]; }
  std::vector<Member*> receivers() {
    std::vector<Member*> r;
    for (size_t i = 1; i < members_.size(); ++i) r.push_back(members_[i].get());
    return r;
  }

 private:
  std::vector<std::unique_ptr<Member>> members_;
};

// Frames per batch for a frame size: as many as fit the default queue bounds with room to spare
// (2,048 frames, or 32 MiB of them), so the pipeline stays full for most of an iteration.
int64_t batch_for(int64_t frame_bytes) {
  return std::min<int64_t>(2048, (32 << 20) / std::max<int64_t>(frame_bytes, 1));
}

// range(0): receivers; range(1): frame size in bytes.
void BM_BulkFrames(benchmark::State& state, std::string name) {
  std::string why;
  TransportPlugin* plugin = engine(name, &why);
  if (plugin == nullptr) {
    state.SkipWithError(("cannot load transport " + name + ": " + why).c_str());
    return;
  }
  Cluster cluster;
  Status started = cluster.start(plugin, static_cast<int>(state.range(0)));
  if (!started.ok()) {
    state.SkipWithError(("cannot start the transports: " + started.to_string()).c_str());
    return;
  }
  Member& sender = cluster.sender();
  std::vector<Member*> receivers = cluster.receivers();
  const std::string frame(static_cast<size_t>(state.range(1)), 'f');
  const int64_t batch = batch_for(state.range(1));

  // Connections are made on the first frame: one frame to each receiver, outside the timing.
  uint64_t expected = 1;
  for (Member* r : receivers) sender.transport->send(r->id, frame, Lane::kBulk);
  for (Member* r : receivers) {
    if (!r->handler.wait_for(expected)) {
      state.SkipWithError(("no first frame at member " + std::to_string(r->id) + ": " +
                           logger().last()).c_str());
      return;
    }
  }

  // Unreachable reports while the connections were made do not count; one during the run does.
  const int unreachable_before = sender.handler.unreachable();
  for (auto _ : state) {
    // Frame by frame across the receivers, as the leader hands out appends to its followers.
    for (int64_t i = 0; i < batch; ++i) {
      for (Member* r : receivers) sender.transport->send(r->id, frame, Lane::kBulk);
    }
    expected += static_cast<uint64_t>(batch);
    for (Member* r : receivers) {
      if (!r->handler.wait_for(expected)) {
        state.SkipWithError(("member " + std::to_string(r->id) + " got " +
                             std::to_string(r->handler.frames()) + " of " +
                             std::to_string(expected) + " frames within " +
                             std::to_string(kWait.count()) + " s; last warning: " +
                             logger().last()).c_str());
        return;
      }
    }
  }
  // Only the sender's handler hears of unreachable peers: the receivers never send.
  const int unreachable = sender.handler.unreachable() - unreachable_before;
  if (unreachable > 0) {
    state.SkipWithError(("receivers reported unreachable " + std::to_string(unreachable) +
                         " times: " + logger().last()).c_str());
    return;
  }
  const int64_t delivered = state.iterations() * batch * static_cast<int64_t>(receivers.size());
  state.SetItemsProcessed(delivered);                // frames/s
  state.SetBytesProcessed(delivered * state.range(1));  // bytes/s
  state.counters["batch"] = static_cast<double>(batch);
}

// Wall time, not the benchmark thread's CPU: the work is on the transports' threads.
#define KEEL_TRANSPORT_BENCH(name)                                                           \
  BENCHMARK_CAPTURE(BM_BulkFrames, name, #name)                                             \
      ->ArgNames({"peers", "bytes"})                                                        \
      ->Args({1, 64})                                                                       \
      ->Args({1, 64 << 10})                                                                 \
      ->Args({3, 64})                                                                       \
      ->Args({3, 64 << 10})                                                                 \
      ->UseRealTime()                                                                       \
      ->Unit(benchmark::kMillisecond)
KEEL_TRANSPORT_BENCH(grpc);
KEEL_TRANSPORT_BENCH(tcp);

}  // namespace
}  // namespace keel

BENCHMARK_MAIN();
