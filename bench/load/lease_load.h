// LeaseLoad: lease keep-alive round trips. Each client grants its own lease (before the clock
// starts), opens a LeaseKeepAlive stream and keeps one keep-alive in flight on it: write the
// request, read the reply (a TTL of 0 means the lease is gone: an error), claim the next.
#ifndef KEEL_BENCH_LOAD_LEASE_LOAD_H_
#define KEEL_BENCH_LOAD_LEASE_LOAD_H_

#include <atomic>
#include <memory>
#include <vector>

#include "connections.h"
#include "options.h"
#include "run_state.h"

namespace keel::bench {

class LeaseLoad {
 public:
  // Borrows everything; all of it must outlive the load.
  LeaseLoad(const Options& o, Connections& conns, Pollers& pollers, OpSource& source, RunStats& stats);
  ~LeaseLoad();

  // Grants one lease per client (synchronously) and opens the streams.
  Status open();
  // Every client sends its first keep-alive. REQUIRES: open() succeeded, source.start() was called.
  void start();
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  Clock::time_point end_time() const { return end_; }
  // Waits until every stream is closed (at most timeout_s), then revokes the leases.
  void close(double timeout_s);

 private:
  class Client;
  friend class Client;
  void retire();

  const Options& o_;
  Connections& conns_;
  OpSource& source_;
  RunStats& stats_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<int> active_{0};
  std::atomic<bool> finished_{false};
  std::atomic<int> closed_{0};
  Clock::time_point end_{};
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_LEASE_LOAD_H_
