// WatchLoad: --streams Watch streams with --watchers-per-stream watches each, all on one key.
// Every event's delay is now minus the send time stamped in its value by the writer (a KvLoad
// in the same process, so both read the same steady clock), recorded per completion queue.
#ifndef KEEL_BENCH_LOAD_WATCH_LOAD_H_
#define KEEL_BENCH_LOAD_WATCH_LOAD_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "connections.h"
#include "options.h"
#include "run_state.h"

namespace keel::bench {

class WatchLoad {
 public:
  // Borrows everything; all of it must outlive the load.
  WatchLoad(const Options& o, std::string key, Connections& conns, Pollers& pollers, RunStats& stats);
  ~WatchLoad();

  // Opens every stream and creates every watch; returns once the server has confirmed them all.
  Status open(double timeout_s);
  uint64_t watchers() const;
  uint64_t events() const { return events_.load(std::memory_order_relaxed); }
  // Cancels every stream and waits until each has finished (at most timeout_s).
  void close(double timeout_s);

 private:
  class Stream;
  friend class Stream;

  const Options& o_;
  const Connections& conns_;
  std::string key_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::atomic<uint64_t> created_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> finished_{0};
  std::string first_failure_;  // written once, under failed_ going 0 -> 1
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_WATCH_LOAD_H_
