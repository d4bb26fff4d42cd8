// framework/metrics: the member's measurements and their Prometheus text exposition.
//
//   Counter    a value that only rises (inc)
//   Gauge      a value set or moved either way (set, inc, dec)
//   Histogram  observations counted into fixed buckets, with their sum (etcd's latency
//              histograms: exponential_buckets(0.001, 2, 14) for fsync and backend commits)
//   Family<M>  one metric name with label names; with(values) is the child for those values
//   Registry   owns every metric by name; gauge_fn() registers a gauge computed by a callback
//              at scrape time; render() writes the text format 0.0.4 that Prometheus scrapes
//
// Updating a Counter, Gauge or Histogram is lock-free (relaxed atomics): the hot paths (the Raft
// loop, the WAL sync, the applier, every gRPC call) keep a reference to their metric and never
// look a name up. Family::with() and registration take a mutex: call them once and keep the
// reference, or on paths where a lock does not matter.
//
// Ownership: a metric lives as long as its Registry; references handed out stay valid until
// then. The registry is the composition root's (keeld's main), handed by reference to whatever
// measures something. A gauge_fn callback runs on the scraping thread, with the registry's
// rendering lock held: it must be thread-safe, must not block, and must not call back into the
// registry; what it reads must outlive the registry's last render().
//
// Names follow etcd's (etcd_server_has_leader, etcd_disk_wal_fsync_duration_seconds, ...) and
// go-grpc-prometheus's (grpc_server_handled_total, ...); the rendering matches Go's client
// (families sorted by name, children by label values, numbers as Go's strconv 'g' shortest).
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_METRICS_METRICS_H_
#define KEEL_METRICS_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace keel::metrics {

class Counter {
 public:
  // REQUIRES: by >= 0.
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void inc(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void dec(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// `count` upper bounds start, start·factor, start·factor², ... (Prometheus's ExponentialBuckets).
std::vector<double> exponential_buckets(double start, double factor, int count);

class Histogram {
 public:
  // `upper_bounds` ascending; the +Inf bucket is implied.
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void observe(double v);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per upper bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // The buckets read one by one while observations go on: each is exact, the sum may be a few
  // observations ahead or behind the counts.
  Snapshot snapshot() const;
  const std::vector<double>& upper_bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0.0};
};

enum class Kind { kCounter, kGauge, kHistogram };

// Label values of one child, in the order of its family's label names.
using LabelValues = std::vector<std::string>;

template <class M>
class Family {
 public:
  Family(std::vector<std::string> label_names, std::function<std::unique_ptr<M>()> make)
      : label_names_(std::move(label_names)), make_(std::move(make)) {}
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for `values` (as many as the family has label names), made on first use.
  M& with(const LabelValues& values) {
    std::lock_guard<std::mutex> lock(mu_);
    std::unique_ptr<M>& child = children_[values];
    if (child == nullptr) child = make_();
    return *child;
  }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Calls f(values, child) for every child, ordered by label values.
  template <class F>
  void for_each(F&& f) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [values, child] : children_) f(values, *child);
  }

 private:
  const std::vector<std::string> label_names_;
  const std::function<std::unique_ptr<M>()> make_;
  mutable std::mutex mu_;
  std::map<LabelValues, std::unique_ptr<M>> children_;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Registering a name again with the same kind and label names returns the metric already
  // there (so two parts of the member may ask for the same one). REQUIRES: a name is never
  // registered with another kind or other label names (that aborts: a programming error).
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  Histogram& histogram(const std::string& name, const std::string& help,
                       std::vector<double> upper_bounds);
  Family<Counter>& counter_family(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names);
  Family<Gauge>& gauge_family(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names);
  Family<Histogram>& histogram_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names,
                                      std::vector<double> upper_bounds);
  // A gauge whose value `read` computes at each render (see the header comment). Registering
  // the name again replaces the callback.
  //
  // A callback is the fallback for a name: a metric measured directly wins, whichever is
  // registered first. gauge_fn() on a name gauge() made is ignored, and gauge() on a name with a
  // callback drops the callback. So services may read at scrape time what the member does not
  // measure yet, and the member may take a name over without the two being told apart.
  void gauge_fn(const std::string& name, const std::string& help, std::function<double()> read);
  // A counter whose value `read` computes at each render (a total kept elsewhere). As gauge_fn,
  // a fallback for counter().
  void counter_fn(const std::string& name, const std::string& help, std::function<double()> read);

  // Every metric in the Prometheus text exposition format 0.0.4: # HELP and # TYPE, then the
  // samples; families sorted by name, children by label values; families without a child are
  // left out, as Go's client does.
  std::string render() const;

 private:
  struct Entry;
  Entry& entry(const std::string& name, const std::string& help, Kind kind,
               const std::vector<std::string>& label_names);
  // The family of Ms named `name`, made by `make` child by child; measured directly, it takes
  // the name over from a callback.
  template <class M>
  Family<M>& family(const std::string& name, const std::string& help, Kind kind,
                    std::vector<std::string> label_names, std::function<std::unique_ptr<M>()> make);
  // A callback for `name`, unless a family of Ms measures it already.
  template <class M>
  void callback(const std::string& name, const std::string& help, Kind kind, std::function<double()> read);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
};

// Content-Type of render()'s text, as Prometheus's Go client sends it.
inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace keel::metrics

#endif  // KEEL_METRICS_METRICS_H_
