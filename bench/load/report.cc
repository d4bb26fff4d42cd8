#include "report.h"

#include <cstdio>
#include <sstream>

namespace keel::bench {
namespace {

bool is_watch(const Options& o) {
  return o.workload == Workload::kWatchLatency || o.workload == Workload::kWatchFanout;
}

// Operations the run counts: for watches the writer's puts (events are counted apart).
uint64_t ops_ok(const Report& r) { return is_watch(*r.options) ? r.writer.ok : r.stats.ok; }
uint64_t ops_failed(const Report& r) {
  return r.stats.errors + (is_watch(*r.options) ? r.writer.errors : 0);
}

double throughput(const Report& r) {
  if (r.seconds <= 0) return 0;
  return static_cast<double>(is_watch(*r.options) ? r.stats.events : r.stats.ok) / r.seconds;
}

double ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string latency_json(const Histogram& h) {
  std::ostringstream j;
  j << "{\"count\":" << h.count() << ",\"avg\":" << fixed(h.mean() / 1e6, 4)
    << ",\"p50\":" << fixed(ms(h.quantile(0.5)), 4) << ",\"p90\":" << fixed(ms(h.quantile(0.9)), 4)
    << ",\"p99\":" << fixed(ms(h.quantile(0.99)), 4) << ",\"p999\":" << fixed(ms(h.quantile(0.999)), 4)
    << ",\"max\":" << fixed(ms(h.max()), 4) << "}";
  return j.str();
}

std::string latency_row(const char* name, const Histogram& h) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "  %-16s avg %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                name, h.mean() / 1e6, ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)),
                ms(h.quantile(0.999)), ms(h.max()));
  return buf;
}

}  // namespace

std::string format_table(const Report& r) {
  const Options& o = *r.options;
  std::ostringstream t;
  t << "keel-bench " << workload_name(o.workload) << (o.label.empty() ? "" : " [" + o.label + "]") << ": "
    << o.conns << " conns, " << o.clients << " clients, key " << o.key_size << " B, value " << o.val_size
    << " B, key space " << o.key_space_size << (o.sequential_keys ? " (sequential)" : " (random)") << "\n";
  if (!r.fatal.empty()) t << "  FAILED: " << r.fatal << "\n";
  t << "  operations       " << ops_ok(r) << " ok, " << ops_failed(r) << " failed in " << fixed(r.seconds, 3) << " s\n";
  if (is_watch(o)) {
    t << "  watchers         " << r.watchers << ", events " << r.stats.events << " of " << r.events_expected << "\n";
    t << "  throughput       " << fixed(throughput(r), 1) << " events/s (" << fixed(r.seconds > 0 ? r.writer.ok / r.seconds : 0, 1)
      << " puts/s)\n";
    t << "latency (ms)\n" << latency_row("put -> event", r.stats.latency) << latency_row("put", r.writer.latency);
  } else {
    t << "  throughput       " << fixed(throughput(r), 1) << " ops/s\n";
    t << "latency (ms)\n" << latency_row(workload_name(o.workload), r.stats.latency);
    if (o.workload == Workload::kMixed) t << latency_row("range", r.stats.reads) << latency_row("put", r.stats.writes);
  }
  t << "cpu\n  keel-bench       " << fixed(r.harness_cpu_s, 2) << " s";
  if (r.seconds > 0) t << " (" << fixed(100 * r.harness_cpu_s / r.seconds, 0) << "% of a core)";
  t << "\n";
  if (r.server_cpu_s) {
    t << "  server           " << fixed(*r.server_cpu_s, 2) << " s";
    if (r.seconds > 0) t << " (" << fixed(100 * *r.server_cpu_s / r.seconds, 0) << "% of a core)";
    if (r.server_peak_rss_bytes) {
      t << ", peak RSS " << fixed(static_cast<double>(*r.server_peak_rss_bytes) / (1 << 20), 1) << " MiB"
        << (r.server_peak_is_run_peak ? "" : " (lifetime peak)");
    }
    t << "\n";
  }
  for (const auto& [text, n] : r.stats.error_texts) t << "  error x" << n << ": " << text << "\n";
  for (const auto& [text, n] : r.writer.error_texts) t << "  writer error x" << n << ": " << text << "\n";
  return t.str();
}

std::string format_json(const Report& r) {
  const Options& o = *r.options;
  std::ostringstream j;
  j << "{\"workload\":" << json_string(workload_name(o.workload)) << ",\"label\":" << json_string(o.label)
    << ",\"endpoints\":[";
  for (size_t i = 0; i < o.endpoints.size(); ++i) j << (i ? "," : "") << json_string(o.endpoints[i]);
  j << "],\"conns\":" << o.conns << ",\"clients\":" << o.clients << ",\"key_size\":" << o.key_size
    << ",\"val_size\":" << o.val_size << ",\"key_space_size\":" << o.key_space_size
    << ",\"sequential_keys\":" << (o.sequential_keys ? "true" : "false") << ",\"rate\":" << fixed(o.rate, 3);
  if (o.workload == Workload::kRange || o.workload == Workload::kMixed) {
    j << ",\"consistency\":" << json_string(o.serializable ? "s" : "l");
  }
  j << ",\"ops\":" << ops_ok(r) << ",\"errors\":" << ops_failed(r) << ",\"seconds\":" << fixed(r.seconds, 4)
    << ",\"throughput\":" << fixed(throughput(r), 2) << ",\"latency_ms\":" << latency_json(r.stats.latency);
  if (o.workload == Workload::kMixed) {
    j << ",\"range_latency_ms\":" << latency_json(r.stats.reads) << ",\"put_latency_ms\":" << latency_json(r.stats.writes);
  }
  if (is_watch(o)) {
    j << ",\"watchers\":" << r.watchers << ",\"events\":" << r.stats.events << ",\"events_expected\":" << r.events_expected
      << ",\"put_latency_ms\":" << latency_json(r.writer.latency);
  }
  j << ",\"harness_cpu_s\":" << fixed(r.harness_cpu_s, 3);
  if (r.server_cpu_s) j << ",\"server_cpu_s\":" << fixed(*r.server_cpu_s, 3);
  if (r.server_peak_rss_bytes) {
    j << ",\"server_peak_rss_bytes\":" << *r.server_peak_rss_bytes
      << ",\"server_peak_is_run_peak\":" << (r.server_peak_is_run_peak ? "true" : "false");
  }
  j << ",\"error_texts\":{";
  bool first = true;
  for (const auto* s : {&r.stats, &r.writer}) {
    for (const auto& [text, n] : s->error_texts) {
      j << (first ? "" : ",") << json_string(text) << ":" << n;
      first = false;
    }
  }
  j << "}";
  if (!r.fatal.empty()) j << ",\"fatal\":" << json_string(r.fatal);
  j << "}";
  return j.str();
}

}  // namespace keel::bench
