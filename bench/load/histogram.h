// Histogram: a log-linear latency histogram (the idea of HdrHistogram, kept small).
//
// Values are nanoseconds. Below 2 * kSubBuckets every value has its own bucket; above, each power
// of two is split into kSubBuckets equal buckets, so a reported percentile is within 1/kSubBuckets
// (0.8 %) of the true value whatever its magnitude, in a fixed 7,424 counters (58 KiB) and with
// no allocation on record(). Count, sum, min and max are kept exactly.
//
// Thread safety: none. keel-bench keeps one histogram per completion-queue thread and merges
// them when the run ends, so recording never takes a lock.
#ifndef KEEL_BENCH_LOAD_HISTOGRAM_H_
#define KEEL_BENCH_LOAD_HISTOGRAM_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace keel::bench {

class Histogram {
 public:
  static constexpr int kSubBucketBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  // Exact buckets [0, 2S), then S buckets for each of the 57 powers of two from 2^8 to 2^63.
  static constexpr std::size_t kBuckets = (64 - kSubBucketBits + 1) * kSubBuckets;

  void record(uint64_t value);
  // Adds every value recorded in `other`.
  void merge(const Histogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The value at quantile q in [0, 1]: the midpoint of the bucket holding the ceil(q * count)-th
  // smallest value, clamped to [min, max] (so p100 is the exact max). 0 when empty.
  uint64_t quantile(double q) const;

  // Bucket arithmetic, public for the tests.
  static std::size_t bucket_of(uint64_t value);
  static uint64_t bucket_low(std::size_t bucket);   // smallest value in the bucket
  static uint64_t bucket_high(std::size_t bucket);  // largest value in the bucket

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  // A long double sum: 2^64 ns is 584 years, but sums over a long run overflow uint64 sooner.
  long double sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_HISTOGRAM_H_
