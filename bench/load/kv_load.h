// KvLoad: the unary workloads (put, range, txn-put, mixed) on --clients clients, each keeping
// one request in flight through gRPC's asynchronous API and sending its next one from the
// completion-queue thread as soon as the last one returns (or, with --rate, when its turn comes).
//
// The watch workloads use a KvLoad as their writer: every put on one key, the value stamped
// with the time it was sent, so a watcher can tell each event's delay without a shared table.
#ifndef KEEL_BENCH_LOAD_KV_LOAD_H_
#define KEEL_BENCH_LOAD_KV_LOAD_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connections.h"
#include "keys.h"
#include "options.h"
#include "run_state.h"

namespace keel::bench {

struct KvPlan {
  Workload workload = Workload::kPut;  // put, range, txn-put or mixed
  bool timestamp_values = false;       // first 8 bytes of each value: steady-clock ns at send
  std::optional<std::string> only_key; // every operation on this key
};

// The steady-clock nanoseconds in the first 8 bytes of a stamped value (0 when too short).
uint64_t value_timestamp(const std::string& value);

class KvLoad {
 public:
  // Borrows everything; all of it must outlive the load.
  KvLoad(const Options& o, KvPlan plan, Connections& conns, Pollers& pollers, OpSource& source,
         RunStats& stats);
  ~KvLoad();

  // Every client sends its first request. REQUIRES: source.start() was called.
  void start();
  // True once every client has run out of operations and its last reply is in.
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // When the last client finished. REQUIRES: finished().
  Clock::time_point end_time() const { return end_; }

 private:
  class Client;
  friend class Client;
  void retire();

  const Options& o_;
  const Connections& conns_;
  KvPlan plan_;
  KeySpace keys_;
  std::string value_;
  OpSource& source_;
  RunStats& stats_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::atomic<int> active_{0};
  std::atomic<bool> finished_{false};
  Clock::time_point end_{};
};

// A grpc::Status as "Code: message".
std::string status_text(const grpc::Status& s);

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_KV_LOAD_H_
