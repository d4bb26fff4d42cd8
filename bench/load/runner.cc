#include "runner.h"

#include <thread>

#include "connections.h"
#include "keys.h"
#include "kv_load.h"
#include "lease_load.h"
#include "proc_stats.h"
#include "progress.h"
#include "watch_load.h"

namespace keel::bench {
namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Waits until done() holds, drawing the progress bar.
template <typename Done>
void wait_for(Done done, const OpSource& source, const RunStats& stats, Progress& progress) {
  auto drawn = Clock::now() - std::chrono::seconds(1);
  while (!done()) {
    if (Clock::now() - drawn >= std::chrono::milliseconds(200)) {
      const uint64_t n = stats.completed.load(std::memory_order_relaxed);
      progress.draw(source.progress(n), n, since(source.start_time()));
      drawn = Clock::now();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  progress.finish();
}

// Shuts the queues down (waiting for whatever is still outstanding on them) when a run_* ends,
// before the loads it declared earlier are destroyed: a stream that did not close in time must
// not have its callback run on a destroyed object.
struct ShutdownAtExit {
  Pollers& pollers;
  ~ShutdownAtExit() { pollers.shutdown(); }
};

// Server processes sampled before and after the timed part.
class ServerSampler {
 public:
  explicit ServerSampler(const std::vector<int>& pids) : pids_(pids) {
    reset_all_ = !pids_.empty();
    for (int pid : pids_) {
      if (!reset_peak_rss(pid)) reset_all_ = false;
      auto s = read_proc(pid);
      cpu0_ += s.ok() ? s->cpu_s : 0;
    }
    harness0_ = self_cpu_seconds();
  }

  void finish(Report& r) const {
    r.harness_cpu_s = self_cpu_seconds() - harness0_;
    if (pids_.empty()) return;
    double cpu = 0;
    uint64_t peak = 0;
    for (int pid : pids_) {
      auto s = read_proc(pid);
      if (!s.ok()) {
        r.fatal = "server pid " + std::to_string(pid) + ": " + s.status().to_string();
        return;
      }
      cpu += s->cpu_s;
      peak += s->peak_rss_bytes;
    }
    r.server_cpu_s = cpu - cpu0_;
    r.server_peak_rss_bytes = peak;
    r.server_peak_is_run_peak = reset_all_;
  }

 private:
  std::vector<int> pids_;
  double cpu0_ = 0;
  double harness0_ = 0;
  bool reset_all_ = false;
};

// Puts every key of the key space once, untimed, so ranges find what they look for.
Status prefill(const Options& o, Connections& conns, Pollers& pollers) {
  Options p = o;
  p.workload = Workload::kPut;
  p.total = o.key_space_size;
  p.duration_s.reset();
  p.rate = 0;
  p.sequential_keys = true;
  RunStats stats(pollers.size());
  OpSource source(p.total, std::nullopt, 0);
  KvLoad load(p, KvPlan{}, conns, pollers, source, stats);
  Progress progress(o.progress, "prefill");
  source.start();
  load.start();
  wait_for([&] { return load.finished(); }, source, stats, progress);
  Stats s = stats.merged();
  if (s.errors > 0) {
    return Status::Unavailable("prefill: " + std::to_string(s.errors) + " puts failed, first: " +
                               s.error_texts.begin()->first);
  }
  return Status::OK();
}

void run_kv(const Options& o, Connections& conns, Pollers& pollers, Report& r) {
  if (o.prefill) {
    if (Status s = prefill(o, conns, pollers); !s.ok()) {
      r.fatal = s.to_string();
      return;
    }
  }
  RunStats stats(pollers.size());
  OpSource source(o.total, o.duration_s, o.rate);
  KvLoad load(o, KvPlan{o.workload, false, std::nullopt}, conns, pollers, source, stats);
  Progress progress(o.progress, workload_name(o.workload));
  ServerSampler sampler(o.server_pids);
  source.start();
  load.start();
  wait_for([&] { return load.finished(); }, source, stats, progress);
  r.seconds = std::chrono::duration<double>(load.end_time() - source.start_time()).count();
  sampler.finish(r);
  r.stats = stats.merged();
}

void run_watch(const Options& o, Connections& conns, Pollers& pollers, Report& r) {
  const std::string key = KeySpace(o).key(0);
  RunStats watch_stats(pollers.size());
  RunStats put_stats(pollers.size());
  WatchLoad watches(o, key, conns, pollers, watch_stats);
  ShutdownAtExit guard{pollers};
  r.watchers = watches.watchers();
  if (Status s = watches.open(o.dial_timeout_s + 10); !s.ok()) {
    r.fatal = s.to_string();
    watches.close(10);
    r.stats = watch_stats.merged();
    return;
  }
  OpSource source(o.total, o.duration_s, o.rate);
  KvLoad writer(o, KvPlan{Workload::kPut, true, key}, conns, pollers, source, put_stats);
  Progress progress(o.progress, workload_name(o.workload));
  ServerSampler sampler(o.server_pids);
  source.start();
  writer.start();
  wait_for([&] { return writer.finished(); }, source, put_stats, progress);

  // Every watcher should see every acknowledged put; wait for the stragglers, but give up after
  // five seconds without a new event (those missing are errors).
  const uint64_t expected = put_stats.merged().ok * r.watchers;
  uint64_t seen = watches.events();
  auto last_event = Clock::now();
  while (seen < expected && since(last_event) < 5 && !g_interrupted.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (const uint64_t now_seen = watches.events(); now_seen != seen) {
      seen = now_seen;
      last_event = Clock::now();
    }
  }
  const auto end = std::max(writer.end_time(), last_event);
  r.seconds = std::chrono::duration<double>(end - source.start_time()).count();
  sampler.finish(r);
  watches.close(10);
  r.stats = watch_stats.merged();
  r.writer = put_stats.merged();
  r.events_expected = expected;
  if (r.stats.events < expected) {
    const uint64_t missing = expected - r.stats.events;
    r.stats.errors += missing;
    r.stats.error_texts["watch events never delivered"] += missing;
  }
}

void run_lease(const Options& o, Connections& conns, Pollers& pollers, Report& r) {
  RunStats stats(pollers.size());
  OpSource source(o.total, o.duration_s, o.rate);
  LeaseLoad leases(o, conns, pollers, source, stats);
  ShutdownAtExit guard{pollers};
  if (Status s = leases.open(); !s.ok()) {
    r.fatal = s.to_string();
    leases.close(10);
    return;
  }
  Progress progress(o.progress, workload_name(o.workload));
  ServerSampler sampler(o.server_pids);
  source.start();
  leases.start();
  wait_for([&] { return leases.finished(); }, source, stats, progress);
  r.seconds = std::chrono::duration<double>(leases.end_time() - source.start_time()).count();
  sampler.finish(r);
  leases.close(10);
  r.stats = stats.merged();
}

}  // namespace

Report run_workload(const Options& o) {
  Report r;
  r.options = &o;
  Connections conns(o.endpoints, o.conns);
  if (Status s = conns.wait_connected(o.dial_timeout_s); !s.ok()) {
    r.fatal = s.to_string();
    return r;
  }
  if (!o.user.empty()) {
    if (Status s = conns.authenticate(o.user, o.dial_timeout_s); !s.ok()) {
      r.fatal = s.to_string();
      return r;
    }
  }
  Pollers pollers(poller_count(o.threads, o.conns));
  switch (o.workload) {
    case Workload::kPut:
    case Workload::kRange:
    case Workload::kTxnPut:
    case Workload::kMixed: run_kv(o, conns, pollers, r); break;
    case Workload::kWatchLatency:
    case Workload::kWatchFanout: run_watch(o, conns, pollers, r); break;
    case Workload::kLeaseKeepAlive: run_lease(o, conns, pollers, r); break;
  }
  pollers.shutdown();
  return r;
}

}  // namespace keel::bench
