// Options: what one keel-bench run does, parsed from its command line.
//
//   keel-bench [common options] <workload> [workload options]
//
// Common options may also follow the workload (CLI11's fallthrough), as in etcd's benchmark tool
// whose names they follow: --endpoints --conns --clients --key-size --val-size --key-space-size
// --sequential-keys --total --rate. `keel-bench matrix ...` is not parsed here: main() hands it
// to the matrix driver.
#ifndef KEEL_BENCH_LOAD_OPTIONS_H_
#define KEEL_BENCH_LOAD_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::bench {

enum class Workload { kPut, kRange, kTxnPut, kMixed, kWatchLatency, kWatchFanout, kLeaseKeepAlive };

// "put", "range", "txn-put", "mixed", "watch-latency", "watch-fanout", "lease-keepalive".
const char* workload_name(Workload w);

enum class Output { kTable, kJson, kBoth };

struct Options {
  Workload workload = Workload::kPut;

  // Where and how hard.
  std::vector<std::string> endpoints{"127.0.0.1:2379"};  // host:port, a leading http:// dropped
  int conns = 1;    // gRPC channels, each its own TCP connection
  int clients = 1;  // requests (or streams) in flight at once
  int threads = 0;  // completion-queue threads; 0: min(conns, hardware threads)

  // Keys and values.
  int key_size = 8;
  int val_size = 8;
  uint64_t key_space_size = 10000;
  bool sequential_keys = false;
  std::string key_prefix;
  uint64_t seed = 1;

  // How long: `total` operations, or for `duration_s` seconds when that is set.
  uint64_t total = 10000;
  std::optional<double> duration_s;
  double rate = 0;  // operations started per second, 0: as fast as the clients go
  double request_timeout_s = 30;
  double dial_timeout_s = 5;
  std::string user;  // "name:password": authenticate once, send the token with every call

  // range and mixed.
  bool serializable = false;  // --consistency s
  bool prefill = false;       // write every key of the key space once before the timed run
  double read_ratio = 0.5;    // mixed: the share of operations that are ranges
  int txn_ops = 1;            // txn-put: puts per transaction

  // watch-latency and watch-fanout.
  int streams = 10;
  int watchers_per_stream = 1;

  // lease-keepalive.
  int64_t lease_ttl_s = 60;

  // Reporting.
  std::vector<int> server_pids;  // local server processes whose CPU and peak RSS are reported
  Output output = Output::kBoth;
  bool progress = true;  // drawn on stderr only when it is a terminal
  std::string label;     // carried into the JSON line (the matrix names its rows with it)
};

// What parsing came to: options to run, or a message (help text or an error) and an exit code.
struct ParseResult {
  std::optional<Options> options;
  int exit_code = 0;
  std::string message;
};

ParseResult parse_options(int argc, const char* const* argv);

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_OPTIONS_H_
