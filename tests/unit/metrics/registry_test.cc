// framework/metrics: the exact text Prometheus scrapes, as etcd's Go client renders it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "metrics/metrics.h"
#include "metrics/text_format.h"

namespace keel::metrics {
namespace {

TEST(FormatValue, MatchesGoShortestG) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(20480), "20480");
  EXPECT_EQ(format_value(524288), "524288");
  EXPECT_EQ(format_value(1048576), "1.048576e+06");
  EXPECT_EQ(format_value(1e6), "1e+06");
  EXPECT_EQ(format_value(0.001), "0.001");
  EXPECT_EQ(format_value(0.0001), "0.0001");
  EXPECT_EQ(format_value(0.00001), "1e-05");
  EXPECT_EQ(format_value(2.5e-05), "2.5e-05");
  EXPECT_EQ(format_value(0.010927395000000001), "0.010927395000000001");
  EXPECT_EQ(format_value(8.192), "8.192");
  EXPECT_EQ(format_value(123.5), "123.5");
  EXPECT_EQ(format_value(1e21), "1e+21");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
}

TEST(ExponentialBuckets, EtcdFsyncBuckets) {
  std::vector<double> b = exponential_buckets(0.001, 2, 14);
  ASSERT_EQ(b.size(), 14u);
  EXPECT_DOUBLE_EQ(b.front(), 0.001);
  EXPECT_DOUBLE_EQ(b.back(), 8.192);
}

TEST(Registry, RendersCountersGaugesAndCallbacksSortedByName) {
  Registry r;
  Counter& c = r.counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.");
  Gauge& g = r.gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.");
  r.gauge_fn("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
             [] { return 1.0; });
  c.inc();
  c.inc(2);
  g.set(5);
  g.dec();
  EXPECT_EQ(r.render(),
            "# HELP etcd_server_has_leader Whether or not a leader exists. 1 is existence, 0 is not.\n"
            "# TYPE etcd_server_has_leader gauge\n"
            "etcd_server_has_leader 1\n"
            "# HELP etcd_server_proposals_failed_total The total number of failed proposals seen.\n"
            "# TYPE etcd_server_proposals_failed_total counter\n"
            "etcd_server_proposals_failed_total 3\n"
            "# HELP etcd_server_proposals_pending The current number of pending proposals to commit.\n"
            "# TYPE etcd_server_proposals_pending gauge\n"
            "etcd_server_proposals_pending 4\n");
}

TEST(Registry, LabelledFamilyChildrenSortedByValuesAndEscaped) {
  Registry r;
  Family<Counter>& f = r.counter_family("grpc_server_handled_total", "Total number of RPCs completed.",
                                        {"grpc_code", "grpc_method"});
  f.with({"OK", "Range"}).inc();
  f.with({"OK", "Put"}).inc(2);
  f.with({"Internal", "Put"});  // a child at zero is rendered too
  r.gauge_family("etcd_server_version", "Which version is running.\nA \\ here.", {"server_version"})
      .with({"3.4.\"0\"\n"})
      .set(1);
  EXPECT_EQ(r.render(),
            "# HELP etcd_server_version Which version is running.\\nA \\\\ here.\n"
            "# TYPE etcd_server_version gauge\n"
            "etcd_server_version{server_version=\"3.4.\\\"0\\\"\\n\"} 1\n"
            "# HELP grpc_server_handled_total Total number of RPCs completed.\n"
            "# TYPE grpc_server_handled_total counter\n"
            "grpc_server_handled_total{grpc_code=\"Internal\",grpc_method=\"Put\"} 0\n"
            "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\"} 2\n"
            "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Range\"} 1\n");
}

TEST(Registry, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  Histogram& h = r.histogram("etcd_disk_wal_fsync_duration_seconds",
                             "The latency distributions of fsync called by WAL.", {0.001, 0.002, 0.004});
  h.observe(0.0005);
  h.observe(0.001);  // on a bound: counted in that bucket (le)
  h.observe(0.003);
  h.observe(10);
  EXPECT_EQ(r.render(),
            "# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.\n"
            "# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 2\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 2\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.004\"} 3\n"
            "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 4\n"
            "etcd_disk_wal_fsync_duration_seconds_sum 10.0045\n"
            "etcd_disk_wal_fsync_duration_seconds_count 4\n");
}

TEST(Registry, LabelledHistogramPutsLeLast) {
  Registry r;
  r.histogram_family("h", "help", {"op"}, {1}).with({"put"}).observe(2);
  EXPECT_EQ(r.render(),
            "# HELP h help\n"
            "# TYPE h histogram\n"
            "h_bucket{op=\"put\",le=\"1\"} 0\n"
            "h_bucket{op=\"put\",le=\"+Inf\"} 1\n"
            "h_sum{op=\"put\"} 2\n"
            "h_count{op=\"put\"} 1\n");
}

TEST(Registry, FamiliesWithoutChildrenAreLeftOut) {
  Registry r;
  r.counter_family("unused_total", "never used", {"a"});
  EXPECT_EQ(r.render(), "");
}

TEST(Registry, RegisteringAgainReturnsTheSameMetric) {
  Registry r;
  Counter& a = r.counter("x_total", "x");
  Counter& b = r.counter("x_total", "x");
  EXPECT_EQ(&a, &b);
  r.gauge_fn("y", "y", [] { return 1.0; });
  r.gauge_fn("y", "y", [] { return 2.0; });
  EXPECT_EQ(r.render(), "# HELP x_total x\n# TYPE x_total counter\nx_total 0\n# HELP y y\n# TYPE y gauge\ny 2\n");
}

TEST(Registry, ADirectMeasurementWinsOverACallbackWhicheverComesFirst) {
  Registry r;
  r.gauge_fn("late", "l", [] { return 1.0; });
  r.gauge("late", "l").set(7);  // drops the callback
  r.gauge("early", "e").set(8);
  r.gauge_fn("early", "e", [] { return 2.0; });  // ignored
  r.counter_fn("c_total", "c", [] { return 3.0; });
  r.counter("c_total", "c").inc(9);
  EXPECT_EQ(r.render(),
            "# HELP c_total c\n# TYPE c_total counter\nc_total 9\n"
            "# HELP early e\n# TYPE early gauge\nearly 8\n"
            "# HELP late l\n# TYPE late gauge\nlate 7\n");
}

TEST(RegistryDeathTest, AnotherKindUnderTheSameNameAborts) {
  Registry r;
  r.counter("z", "z");
  EXPECT_DEATH(r.gauge("z", "z"), "registered twice");
}

TEST(Registry, ConcurrentUpdatesAreAllCounted) {
  Registry r;
  Counter& c = r.counter("c_total", "c");
  Histogram& h = r.histogram("h_seconds", "h", exponential_buckets(0.001, 2, 14));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.inc();
        h.observe(0.003);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  Histogram::Snapshot s = h.snapshot();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative[1], 0u);
  EXPECT_EQ(s.cumulative[2], 40000u);
}

}  // namespace
}  // namespace keel::metrics
