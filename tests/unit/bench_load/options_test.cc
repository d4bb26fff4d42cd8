// bench/load/options.h: what each command line comes to, and that bad ones are refused with a
// message naming the option.
#include "options.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace keel::bench {
namespace {

ParseResult parse(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"keel-bench"};
  argv.insert(argv.end(), args);
  return parse_options(static_cast<int>(argv.size()), argv.data());
}

Options ok(std::initializer_list<const char*> args) {
  ParseResult r = parse(args);
  EXPECT_TRUE(r.options.has_value()) << r.message;
  return r.options.value_or(Options{});
}

TEST(Options, DefaultsFollowEtcdsBenchmark) {
  Options o = ok({"put"});
  EXPECT_EQ(o.workload, Workload::kPut);
  EXPECT_EQ(o.endpoints, std::vector<std::string>{"127.0.0.1:2379"});
  EXPECT_EQ(o.conns, 1);
  EXPECT_EQ(o.clients, 1);
  EXPECT_EQ(o.key_size, 8);
  EXPECT_EQ(o.val_size, 8);
  EXPECT_EQ(o.total, 10000u);
  EXPECT_FALSE(o.duration_s.has_value());
  EXPECT_EQ(o.rate, 0);
  EXPECT_FALSE(o.sequential_keys);
  EXPECT_EQ(o.output, Output::kBoth);
}

TEST(Options, CommonOptionsGoBeforeOrAfterTheWorkload) {
  Options before = ok({"--conns", "4", "--clients", "100", "put"});
  Options after = ok({"put", "--conns", "4", "--clients", "100"});
  EXPECT_EQ(before.conns, 4);
  EXPECT_EQ(after.conns, 4);
  EXPECT_EQ(before.clients, 100);
  EXPECT_EQ(after.clients, 100);
}

TEST(Options, EndpointsAreSplitAndLoseTheirScheme) {
  Options o = ok({"--endpoints", "http://127.0.0.1:2379,10.0.0.2:2379", "put"});
  EXPECT_EQ(o.endpoints, (std::vector<std::string>{"127.0.0.1:2379", "10.0.0.2:2379"}));
}

TEST(Options, EveryWorkloadHasItsName) {
  const std::pair<const char*, Workload> names[] = {
      {"put", Workload::kPut}, {"range", Workload::kRange}, {"txn-put", Workload::kTxnPut},
      {"mixed", Workload::kMixed}, {"watch-latency", Workload::kWatchLatency},
      {"watch-fanout", Workload::kWatchFanout}, {"lease-keepalive", Workload::kLeaseKeepAlive}};
  for (const auto& [name, w] : names) {
    EXPECT_EQ(ok({name}).workload, w) << name;
    EXPECT_STREQ(workload_name(w), name);
  }
}

TEST(Options, WorkloadOptions) {
  Options r = ok({"range", "--consistency", "s", "--prefill"});
  EXPECT_TRUE(r.serializable);
  EXPECT_TRUE(r.prefill);
  EXPECT_FALSE(ok({"range"}).serializable);
  EXPECT_DOUBLE_EQ(ok({"mixed", "--read-ratio", "0.9"}).read_ratio, 0.9);
  EXPECT_EQ(ok({"txn-put", "--txn-ops", "16"}).txn_ops, 16);
  EXPECT_EQ(ok({"lease-keepalive", "--ttl", "30"}).lease_ttl_s, 30);
  Options w = ok({"watch-fanout", "--streams", "50", "--watchers-per-stream", "20"});
  EXPECT_EQ(w.streams, 50);
  EXPECT_EQ(w.watchers_per_stream, 20);
}

TEST(Options, WatchWorkloadsHaveTheirOwnDefaults) {
  Options lat = ok({"watch-latency"});
  EXPECT_EQ(lat.rate, 100);
  EXPECT_EQ(lat.total, 1000u);
  EXPECT_EQ(lat.streams * lat.watchers_per_stream, 10);
  Options fan = ok({"watch-fanout"});
  EXPECT_EQ(fan.rate, 0);
  EXPECT_EQ(fan.streams * fan.watchers_per_stream, 100);
  // ... which the command line overrides.
  EXPECT_EQ(ok({"watch-latency", "--rate", "0", "--total", "50"}).rate, 0);
  EXPECT_EQ(ok({"--total", "50", "watch-latency"}).total, 50u);
}

TEST(Options, DurationRateAndReporting) {
  Options o = ok({"put", "--duration", "2.5", "--rate", "1000", "--server-pid", "12,34", "--output", "json",
                  "--no-progress", "--label", "lmdb"});
  ASSERT_TRUE(o.duration_s.has_value());
  EXPECT_DOUBLE_EQ(*o.duration_s, 2.5);
  EXPECT_DOUBLE_EQ(o.rate, 1000);
  EXPECT_EQ(o.server_pids, (std::vector<int>{12, 34}));
  EXPECT_EQ(o.output, Output::kJson);
  EXPECT_FALSE(o.progress);
  EXPECT_EQ(o.label, "lmdb");
  EXPECT_EQ(ok({"put", "--user", "root:p:w"}).user, "root:p:w");  // the password may hold ':'
}

TEST(Options, HelpExitsZeroWithTheUsage) {
  ParseResult r = parse({"--help"});
  EXPECT_FALSE(r.options.has_value());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.message.find("--clients"), std::string::npos) << r.message;
}

TEST(Options, BadCommandLinesAreRefusedNamingTheOption) {
  struct Case {
    std::initializer_list<const char*> args;
    const char* names;
  };
  const Case cases[] = {
      {{}, "name a workload"},
      {{"fly"}, "name a workload"},
      {{"--conns", "2"}, "name a workload"},
      {{"put", "--conns", "0"}, "--conns"},
      {{"put", "--clients", "x"}, "--clients"},
      {{"put", "--key-size", "2"}, "--key-size"},  // 10,000 keys need 4 hex digits
      {{"put", "--key-size", "6", "--key-prefix", "bench/"}, "--key-size"},
      {{"put", "--key-space-size", "0"}, "--key-space-size"},
      {{"put", "--total", "0"}, "--total"},
      {{"put", "--duration", "0"}, "--duration"},
      {{"put", "--rate", "-1"}, "--rate"},
      {{"range", "--consistency", "x"}, "--consistency"},
      {{"mixed", "--read-ratio", "1.5"}, "--read-ratio"},
      {{"txn-put", "--txn-ops", "129"}, "--txn-ops"},
      {{"txn-put", "--txn-ops", "8", "--key-space-size", "4"}, "--txn-ops"},
      {{"put", "--endpoints", "https://127.0.0.1:2379"}, "--endpoints"},
      {{"put", "--endpoints", "localhost"}, "--endpoints"},
      {{"put", "--output", "xml"}, "--output"},
      {{"put", "--user", "root"}, "--user"},
      {{"put", "--consistency", "s"}, "--consistency"},  // a range option on put
  };
  for (const auto& c : cases) {
    ParseResult r = parse(c.args);
    std::string line;
    for (const char* a : c.args) line += std::string(a) + " ";
    EXPECT_FALSE(r.options.has_value()) << line;
    EXPECT_EQ(r.exit_code, 2) << line;
    EXPECT_NE(r.message.find(c.names), std::string::npos) << line << "-> " << r.message;
  }
}

}  // namespace
}  // namespace keel::bench
