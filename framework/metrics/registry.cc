// Registry: metrics by name, and their rendering in the Prometheus text format.
#include <cstdio>
#include <cstdlib>
#include <variant>

#include "metrics/metrics.h"
#include "metrics/text_format.h"

namespace keel::metrics {

struct Registry::Entry {
  std::string help;
  Kind kind;
  std::vector<std::string> label_names;
  // One of: a family (labelled or not: an unlabelled metric is the family's one child with no
  // label values), or a callback.
  std::variant<std::unique_ptr<Family<Counter>>, std::unique_ptr<Family<Gauge>>,
               std::unique_ptr<Family<Histogram>>, std::function<double()>>
      body;
};

Registry::Registry() = default;
Registry::~Registry() = default;

namespace {

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kCounter: return "counter";
    case Kind::kGauge: return "gauge";
    case Kind::kHistogram: return "histogram";
  }
  return "untyped";
}

[[noreturn]] void clash(const std::string& name) {
  std::fprintf(stderr, "keel metrics: %s registered twice with another kind or labels\n", name.c_str());
  std::abort();
}

// `name{a="x",b="y"<extra>}`, or `name` alone when there are no labels.
void append_series(std::string* out, const std::string& name, const std::vector<std::string>& label_names,
                   const LabelValues& values, const std::string& extra_label = {},
                   const std::string& extra_value = {}) {
  *out += name;
  if (label_names.empty() && extra_label.empty()) return;
  out->push_back('{');
  bool first = true;
  for (size_t i = 0; i < label_names.size() && i < values.size(); ++i) {
    if (!first) out->push_back(',');
    first = false;
    *out += label_names[i];
    *out += "=\"";
    append_label_value(out, values[i]);
    out->push_back('"');
  }
  if (!extra_label.empty()) {
    if (!first) out->push_back(',');
    *out += extra_label;
    *out += "=\"";
    append_label_value(out, extra_value);
    out->push_back('"');
  }
  out->push_back('}');
}

void append_sample(std::string* out, double v) {
  out->push_back(' ');
  *out += format_value(v);
  out->push_back('\n');
}

}  // namespace

Registry::Entry& Registry::entry(const std::string& name, const std::string& help, Kind kind,
                                 const std::vector<std::string>& label_names) {
  std::unique_ptr<Entry>& e = entries_[name];
  if (e == nullptr) {
    e = std::make_unique<Entry>();
    e->help = help;
    e->kind = kind;
    e->label_names = label_names;
  } else if (e->kind != kind || e->label_names != label_names) {
    clash(name);
  }
  return *e;
}

template <class M>
Family<M>& Registry::family(const std::string& name, const std::string& help, Kind kind,
                            std::vector<std::string> label_names, std::function<std::unique_ptr<M>()> make) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entry(name, help, kind, label_names);
  if (!std::holds_alternative<std::unique_ptr<Family<M>>>(e.body)) {
    e.body = std::unique_ptr<Family<M>>();  // measured directly: replaces a callback
  }
  auto& f = std::get<std::unique_ptr<Family<M>>>(e.body);
  if (f == nullptr) f = std::make_unique<Family<M>>(std::move(label_names), std::move(make));
  return *f;
}

template <class M>
void Registry::callback(const std::string& name, const std::string& help, Kind kind, std::function<double()> read) {
  std::lock_guard<std::mutex> lock(mu_);
  Entry& e = entry(name, help, kind, {});
  const auto* family = std::get_if<std::unique_ptr<Family<M>>>(&e.body);
  if (family != nullptr && *family != nullptr) return;  // measured directly already
  e.body = std::move(read);
}

Family<Counter>& Registry::counter_family(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names) {
  return family<Counter>(name, help, Kind::kCounter, std::move(label_names), [] { return std::make_unique<Counter>(); });
}

Family<Gauge>& Registry::gauge_family(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  return family<Gauge>(name, help, Kind::kGauge, std::move(label_names), [] { return std::make_unique<Gauge>(); });
}

Family<Histogram>& Registry::histogram_family(const std::string& name, const std::string& help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> upper_bounds) {
  return family<Histogram>(name, help, Kind::kHistogram, std::move(label_names),
                           [b = std::move(upper_bounds)] { return std::make_unique<Histogram>(b); });
}

Counter& Registry::counter(const std::string& name, const std::string& help) {
  return counter_family(name, help, {}).with({});
}

Gauge& Registry::gauge(const std::string& name, const std::string& help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> upper_bounds) {
  return histogram_family(name, help, {}, std::move(upper_bounds)).with({});
}

void Registry::gauge_fn(const std::string& name, const std::string& help, std::function<double()> read) {
  callback<Gauge>(name, help, Kind::kGauge, std::move(read));
}

void Registry::counter_fn(const std::string& name, const std::string& help, std::function<double()> read) {
  callback<Counter>(name, help, Kind::kCounter, std::move(read));
}

std::string Registry::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  for (const auto& [name, e] : entries_) {
    std::string samples;
    // A counter's or gauge's child: one sample.
    auto scalar = [&, &name = name, &e = e](const LabelValues& values, const auto& metric) {
      append_series(&samples, name, e->label_names, values);
      append_sample(&samples, metric.value());
    };
    if (const auto* read = std::get_if<std::function<double()>>(&e->body)) {
      if (*read) {
        append_series(&samples, name, {}, {});
        append_sample(&samples, (*read)());
      }
    } else if (const auto* counters = std::get_if<std::unique_ptr<Family<Counter>>>(&e->body)) {
      if (*counters) (*counters)->for_each(scalar);
    } else if (const auto* gauges = std::get_if<std::unique_ptr<Family<Gauge>>>(&e->body)) {
      if (*gauges) (*gauges)->for_each(scalar);
    } else if (const auto* hists = std::get_if<std::unique_ptr<Family<Histogram>>>(&e->body)) {
      if (*hists) {
        (*hists)->for_each([&](const LabelValues& values, const Histogram& h) {
          const Histogram::Snapshot s = h.snapshot();
          const std::vector<double>& bounds = h.upper_bounds();
          for (size_t i = 0; i <= bounds.size(); ++i) {
            append_series(&samples, name + "_bucket", e->label_names, values, "le",
                          i < bounds.size() ? format_value(bounds[i]) : "+Inf");
            append_sample(&samples, static_cast<double>(s.cumulative[i]));
          }
          append_series(&samples, name + "_sum", e->label_names, values);
          append_sample(&samples, s.sum);
          append_series(&samples, name + "_count", e->label_names, values);
          append_sample(&samples, static_cast<double>(s.count));
        });
      }
    }
    if (samples.empty()) continue;
    out += "# HELP " + name + " ";
    append_help(&out, e->help);
    out += "\n# TYPE " + name + " " + kind_name(e->kind) + "\n";
    out += samples;
  }
  return out;
}

}  // namespace keel::metrics
