#include "options.h"

#include <CLI/CLI.hpp>

#include <sstream>

namespace keel::bench {

const char* workload_name(Workload w) {
  switch (w) {
    case Workload::kPut: return "put";
    case Workload::kRange: return "range";
    case Workload::kTxnPut: return "txn-put";
    case Workload::kMixed: return "mixed";
    case Workload::kWatchLatency: return "watch-latency";
    case Workload::kWatchFanout: return "watch-fanout";
    case Workload::kLeaseKeepAlive: return "lease-keepalive";
  }
  return "?";
}

namespace {

// Hex digits needed to write every index below `n` (at least one).
int hex_digits(uint64_t n) {
  int d = 1;
  for (uint64_t v = n > 0 ? n - 1 : 0; v >= 16; v /= 16) ++d;
  return d;
}

// The first problem with `o`, or empty.
std::string validate(Options& o) {
  for (auto& e : o.endpoints) {
    if (e.rfind("https://", 0) == 0) return "--endpoints: TLS endpoints are not supported yet: " + e;
    if (e.rfind("http://", 0) == 0) e.erase(0, 7);
    if (e.empty() || e.find(':') == std::string::npos) return "--endpoints: want host:port, got '" + e + "'";
  }
  if (o.endpoints.empty()) return "--endpoints: at least one is needed";
  if (!o.user.empty() && o.user.find(':') == std::string::npos) return "--user: want name:password";
  if (o.key_space_size == 0) return "--key-space-size must be at least 1";
  const size_t need = o.key_prefix.size() + static_cast<size_t>(hex_digits(o.key_space_size));
  if (static_cast<size_t>(o.key_size) < need) {
    return "--key-size " + std::to_string(o.key_size) + " cannot hold --key-prefix and " +
           std::to_string(o.key_space_size) + " distinct keys: it needs at least " + std::to_string(need);
  }
  if (o.workload == Workload::kTxnPut && static_cast<uint64_t>(o.txn_ops) > o.key_space_size) {
    return "--txn-ops " + std::to_string(o.txn_ops) + " puts a txn cannot find distinct keys in a key space of " +
           std::to_string(o.key_space_size);
  }
  if (!o.duration_s && o.total == 0) return "--total must be at least 1";
  if (o.duration_s && *o.duration_s <= 0) return "--duration must be positive";
  if (o.read_ratio < 0 || o.read_ratio > 1) return "--read-ratio must lie in [0, 1]";
  return "";
}

}  // namespace

ParseResult parse_options(int argc, const char* const* argv) {
  Options o;
  CLI::App app{"keel-bench: a load generator for any server that speaks etcd's v3 gRPC API "
               "(keel or etcd). `keel-bench matrix --help` describes the engine matrix."};
  app.fallthrough();  // common options may follow the workload's name
  app.require_subcommand(1);

  app.add_option("--endpoints", o.endpoints, "Servers, host:port (comma-separated)")
      ->delimiter(',')->capture_default_str();
  app.add_option("--conns", o.conns, "gRPC connections (channels)")->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--clients", o.clients, "Requests (or streams) in flight at once")
      ->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--threads", o.threads, "Completion-queue threads (0: min(conns, cores))")
      ->check(CLI::Range(0, 256))->capture_default_str();
  app.add_option("--key-size", o.key_size, "Key size in bytes")->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app.add_option("--val-size", o.val_size, "Value size in bytes (watches use at least 8)")
      ->check(CLI::Range(0, 1 << 24))->capture_default_str();
  app.add_option("--key-space-size", o.key_space_size, "Distinct keys")->capture_default_str();
  app.add_flag("--sequential-keys", o.sequential_keys, "Keys in order (op i: key i mod key space), not random");
  app.add_option("--key-prefix", o.key_prefix, "Every key begins with this (counted in --key-size)");
  app.add_option("--seed", o.seed, "Seed of the random keys")->capture_default_str();
  app.add_option("--total", o.total, "Operations to run")->capture_default_str();
  app.add_option("--duration", o.duration_s, "Seconds to run (instead of --total)");
  app.add_option("--rate", o.rate, "Operations started per second (0: no limit)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--request-timeout", o.request_timeout_s, "Seconds before a request fails")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--dial-timeout", o.dial_timeout_s, "Seconds to wait for each connection")
      ->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--user", o.user, "name:password, for a server with auth enabled (the token rides on every call)");
  app.add_option("--server-pid", o.server_pids,
                 "A local server's pid: its CPU seconds and peak RSS over the run are reported")
      ->delimiter(',');
  std::map<std::string, Output> outputs{{"table", Output::kTable}, {"json", Output::kJson}, {"both", Output::kBoth}};
  app.add_option("--output", o.output, "table, json (one line) or both")
      ->transform(CLI::CheckedTransformer(outputs, CLI::ignore_case));
  bool no_progress = false;
  app.add_flag("--no-progress", no_progress, "No progress bar (drawn only on a terminal anyway)");
  app.add_option("--label", o.label, "A name for this run, carried into the JSON line");

  auto* put = app.add_subcommand("put", "Put random (or sequential) keys");
  auto* range = app.add_subcommand("range", "Range one key at a time");
  auto* txn = app.add_subcommand("txn-put", "Txns of --txn-ops puts, no compares");
  auto* mixed = app.add_subcommand("mixed", "Ranges and puts, --read-ratio of them ranges");
  auto* wlat = app.add_subcommand("watch-latency", "Time from a put to each watcher's event, puts at --rate");
  auto* wfan = app.add_subcommand("watch-fanout", "Many watchers on one key, one writer as fast as it goes");
  auto* lease = app.add_subcommand("lease-keepalive", "Keep-alive round trips, one lease and stream per client");

  std::string consistency = "l";
  for (auto* sub : {range, mixed}) {
    sub->add_option("--consistency", consistency, "l (linearizable) or s (serializable)")
        ->check(CLI::IsMember({"l", "s"}))->capture_default_str();
    sub->add_flag("--prefill", o.prefill, "Put every key of the key space once before the timed run");
  }
  mixed->add_option("--read-ratio", o.read_ratio, "Share of ranges")->capture_default_str();
  txn->add_option("--txn-ops", o.txn_ops, "Puts per txn")->check(CLI::Range(1, 128))->capture_default_str();
  for (auto* sub : {wlat, wfan}) {
    sub->add_option("--streams", o.streams, "Watch streams (spread over the connections)")
        ->check(CLI::Range(1, 100000));
    sub->add_option("--watchers-per-stream", o.watchers_per_stream, "Watches on each stream")
        ->check(CLI::Range(1, 100000));
  }
  lease->add_option("--ttl", o.lease_ttl_s, "TTL of each lease, seconds")->check(CLI::Range(2, 100000))
      ->capture_default_str();

  ParseResult result;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (app.get_subcommands().empty() && e.get_exit_code() != 0) {
      result.exit_code = 2;
      result.message = "keel-bench: name a workload: put, range, txn-put, mixed, watch-latency, watch-fanout, "
                       "lease-keepalive (or matrix); --help for more\n";
      return result;
    }
    std::ostringstream out, err;
    result.exit_code = app.exit(e, out, err) == 0 ? 0 : 2;  // CLI11's codes are its own; 2 as keeld
    result.message = out.str() + err.str();
    return result;
  }

  const std::pair<CLI::App*, Workload> subs[] = {
      {put, Workload::kPut}, {range, Workload::kRange}, {txn, Workload::kTxnPut},
      {mixed, Workload::kMixed}, {wlat, Workload::kWatchLatency}, {wfan, Workload::kWatchFanout},
      {lease, Workload::kLeaseKeepAlive}};
  for (const auto& [sub, w] : subs) {
    if (sub->parsed()) o.workload = w;
  }
  o.serializable = consistency == "s";
  o.progress = !no_progress;
  // The watch workloads' own defaults, as etcd's watch-latency: 10 watchers, 100 puts a second;
  // watch-fanout: 100 watchers, 1,000 puts unpaced.
  if (o.workload == Workload::kWatchLatency) {
    if (app.count("--rate") == 0) o.rate = 100;
    if (app.count("--total") == 0) o.total = 1000;
  }
  if (o.workload == Workload::kWatchFanout) {
    if (wfan->count("--streams") == 0) o.streams = 10;
    if (wfan->count("--watchers-per-stream") == 0) o.watchers_per_stream = 10;
    if (app.count("--total") == 0) o.total = 1000;
  }
  if (std::string problem = validate(o); !problem.empty()) {
    result.exit_code = 2;
    result.message = "keel-bench: " + problem + "\n";
    return result;
  }
  result.options = std::move(o);
  return result;
}

}  // namespace keel::bench
