// bench/load/histogram.h: the bucket arithmetic, and percentiles within the promised 1/128 of
// the true value, compared with the exact percentile of a sorted copy (a naive model).
#include "histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace keel::bench {
namespace {

TEST(Histogram, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  EXPECT_EQ(h.quantile(0.5), 0u);
  EXPECT_EQ(h.quantile(1.0), 0u);
}

TEST(Histogram, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 2 * Histogram::kSubBuckets; ++v) {
    EXPECT_EQ(Histogram::bucket_of(v), v);
    h.record(v);
  }
  EXPECT_EQ(h.quantile(0.5), 127u);  // rank 128 of 0..255
  EXPECT_EQ(h.quantile(0), 0u);
  EXPECT_EQ(h.quantile(1), 255u);
}

TEST(Histogram, BucketsTileTheValuesWithoutGaps) {
  for (std::size_t b = 0; b + 1 < Histogram::kBuckets; ++b) {
    ASSERT_LE(Histogram::bucket_low(b), Histogram::bucket_high(b)) << b;
    ASSERT_EQ(Histogram::bucket_high(b) + 1, Histogram::bucket_low(b + 1)) << b;
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_low(b)), b);
    ASSERT_EQ(Histogram::bucket_of(Histogram::bucket_high(b)), b);
  }
  EXPECT_EQ(Histogram::bucket_of(UINT64_MAX), Histogram::kBuckets - 1);
  EXPECT_EQ(Histogram::bucket_high(Histogram::kBuckets - 1), UINT64_MAX);
}

TEST(Histogram, BucketWidthIsWithinOnePartIn128) {
  for (std::size_t b = 2 * Histogram::kSubBuckets; b < Histogram::kBuckets; b += 37) {
    const double low = static_cast<double>(Histogram::bucket_low(b));
    const double width = static_cast<double>(Histogram::bucket_high(b) - Histogram::bucket_low(b) + 1);
    EXPECT_LE(width / low, 1.0 / 128) << b;
  }
}

TEST(Histogram, SingleValueIsReportedExactly) {
  Histogram h;
  h.record(1'234'567);
  for (double q : {0.0, 0.5, 0.99, 0.999, 1.0}) EXPECT_EQ(h.quantile(q), 1'234'567u) << q;
  EXPECT_EQ(h.mean(), 1'234'567.0);
  EXPECT_EQ(h.min(), 1'234'567u);
  EXPECT_EQ(h.max(), 1'234'567u);
}

// Latency-like values (log-normal around 1 ms) against the exact percentiles of the sorted data.
TEST(Histogram, PercentilesMatchTheSortedDataWithinTheBucketError) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(1e6), 1.0);
  std::vector<uint64_t> values;
  Histogram h;
  long double sum = 0;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
    sum += v;
  }
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
    const double exact = static_cast<double>(values[rank - 1]);
    EXPECT_NEAR(static_cast<double>(h.quantile(q)), exact, exact / 128) << "q=" << q;
  }
  EXPECT_EQ(h.max(), values.back());
  EXPECT_EQ(h.min(), values.front());
  EXPECT_EQ(h.quantile(1.0), values.back());
  EXPECT_NEAR(h.mean(), static_cast<double>(sum / values.size()), 1e-3);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne) {
  Histogram a, b, all;
  for (uint64_t v = 1; v <= 10'000; ++v) {
    (v % 3 ? a : b).record(v * 997);
    all.record(v * 997);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double q : {0.1, 0.5, 0.9, 0.99, 0.999}) EXPECT_EQ(a.quantile(q), all.quantile(q));
}

TEST(Histogram, MergingAnEmptyHistogramChangesNothing) {
  Histogram a, empty;
  a.record(5);
  a.record(500);
  a.merge(empty);
  EXPECT_EQ(a.count(), 2u);
  EXPECT_EQ(a.min(), 5u);
  EXPECT_EQ(a.max(), 500u);
}

}  // namespace
}  // namespace keel::bench
