// etcd 3.4's server flags as keeld takes them: the table below is the one place a flag is named,
// given its default and its help; parse_invocation merges the sources and builds a MemberConfig.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

#include <CLI/CLI.hpp>

#include "config/config.h"

extern char** environ;

namespace keel::config {
namespace {

enum class Kind { kText, kBool };

struct FlagSpec {
  const char* name;
  const char* default_value;
  Kind kind;
  const char* group;
  const char* help;
  const char* env_prefix = "ETCD_";
};

// Defaults are etcd 3.5's, but for: clients and peers on 127.0.0.1 rather than localhost, the data
// dir named <name>.keel, and a snapshot every 10,000 entries (etcd 3.6), as DESIGN.md says.
const FlagSpec kFlags[] = {
    {"name", "default", Kind::kText, "Member", "Human-readable name for this member."},
    {"data-dir", "${name}.keel", Kind::kText, "Member", "Path to the data directory."},
    {"wal-dir", "", Kind::kText, "Member", "Path to the dedicated wal directory."},
    {"snapshot-count", "10000", Kind::kText, "Member", "Number of committed transactions to trigger a snapshot to disk."},
    {"heartbeat-interval", "100", Kind::kText, "Member", "Time (in milliseconds) of a heartbeat interval."},
    {"election-timeout", "1000", Kind::kText, "Member", "Time (in milliseconds) for an election to timeout."},
    {"initial-election-tick-advance", "true", Kind::kBool, "Member", "Whether to fast-forward initial election ticks on boot for faster election."},
    {"listen-peer-urls", "http://127.0.0.1:2380", Kind::kText, "Member", "List of URLs to listen on for peer traffic."},
    {"listen-client-urls", "http://127.0.0.1:2379", Kind::kText, "Member", "List of URLs to listen on for client traffic."},
    {"listen-metrics-urls", "", Kind::kText, "Member", "List of URLs to listen on for the metrics and health endpoints."},
    {"max-snapshots", "5", Kind::kText, "Member", "Maximum number of snapshot files to retain (0 is unlimited)."},
    {"max-wals", "5", Kind::kText, "Member", "Maximum number of wal files to retain (0 is unlimited)."},
    {"quota-backend-bytes", "0", Kind::kText, "Member", "Raise alarms when backend size exceeds the given quota (0 defaults to low space quota)."},
    {"backend-batch-interval", "100ms", Kind::kText, "Member", "BackendBatchInterval is the maximum time before commit the backend transaction."},
    {"backend-batch-limit", "10000", Kind::kText, "Member", "BackendBatchLimit is the maximum operations before commit the backend transaction."},
    {"max-txn-ops", "128", Kind::kText, "Member", "Maximum number of operations permitted in a transaction."},
    {"max-request-bytes", "1572864", Kind::kText, "Member", "Maximum client request size in bytes the server will accept."},
    {"max-concurrent-streams", "4294967295", Kind::kText, "Member", "Maximum concurrent streams that each client can open at a time."},
    {"grpc-keepalive-min-time", "5s", Kind::kText, "Member", "Minimum interval duration that a client should wait before pinging server."},
    {"grpc-keepalive-interval", "2h", Kind::kText, "Member", "Frequency duration of server-to-client ping to check if a connection is alive (0 to disable)."},
    {"grpc-keepalive-timeout", "20s", Kind::kText, "Member", "Additional duration of wait before closing a non-responsive connection (0 to disable)."},

    {"initial-advertise-peer-urls", "http://127.0.0.1:2380", Kind::kText, "Clustering", "List of this member's peer URLs to advertise to the rest of the cluster."},
    {"initial-cluster", "", Kind::kText, "Clustering", "Initial cluster configuration for bootstrapping (default: <name>=<initial-advertise-peer-urls>)."},
    {"initial-cluster-state", "new", Kind::kText, "Clustering", "Initial cluster state ('new' or 'existing')."},
    {"initial-cluster-token", "etcd-cluster", Kind::kText, "Clustering", "Initial cluster token for the etcd cluster during bootstrap."},
    {"advertise-client-urls", "http://127.0.0.1:2379", Kind::kText, "Clustering", "List of this member's client URLs to advertise to the public."},
    {"discovery", "", Kind::kText, "Clustering", "Discovery URL used to bootstrap the cluster (not supported by keel)."},
    {"discovery-srv", "", Kind::kText, "Clustering", "DNS srv domain used to bootstrap the cluster (not supported by keel)."},
    {"strict-reconfig-check", "true", Kind::kBool, "Clustering", "Reject reconfiguration requests that would cause quorum loss."},
    {"pre-vote", "true", Kind::kBool, "Clustering", "Enable to run an additional Raft election phase."},
    {"auto-compaction-retention", "0", Kind::kText, "Clustering", "Auto compaction retention length. 0 means disable auto compaction."},
    {"auto-compaction-mode", "periodic", Kind::kText, "Clustering", "Interpret 'auto-compaction-retention' one of: periodic|revision."},
    {"enable-v2", "false", Kind::kBool, "Clustering", "Accept etcd V2 client requests (not supported by keel)."},
    {"force-new-cluster", "false", Kind::kBool, "Clustering", "Force to create a new one member cluster."},

    {"cert-file", "", Kind::kText, "Security", "Path to the client server TLS cert file."},
    {"key-file", "", Kind::kText, "Security", "Path to the client server TLS key file."},
    {"client-cert-auth", "false", Kind::kBool, "Security", "Enable client cert authentication."},
    {"client-crl-file", "", Kind::kText, "Security", "Path to the client certificate revocation list file."},
    {"client-cert-allowed-hostname", "", Kind::kText, "Security", "Allowed TLS hostname for client cert authentication."},
    {"trusted-ca-file", "", Kind::kText, "Security", "Path to the client server TLS trusted CA cert file."},
    {"auto-tls", "false", Kind::kBool, "Security", "Client TLS using generated certificates."},
    {"peer-cert-file", "", Kind::kText, "Security", "Path to the peer server TLS cert file."},
    {"peer-key-file", "", Kind::kText, "Security", "Path to the peer server TLS key file."},
    {"peer-client-cert-auth", "false", Kind::kBool, "Security", "Enable peer client cert authentication."},
    {"peer-trusted-ca-file", "", Kind::kText, "Security", "Path to the peer server TLS trusted CA file."},
    {"peer-cert-allowed-cn", "", Kind::kText, "Security", "Allowed CN for inter peer authentication."},
    {"peer-cert-allowed-hostname", "", Kind::kText, "Security", "Allowed TLS hostname for inter peer authentication."},
    {"peer-auto-tls", "false", Kind::kBool, "Security", "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided."},
    {"peer-crl-file", "", Kind::kText, "Security", "Path to the peer certificate revocation list file."},
    {"cipher-suites", "", Kind::kText, "Security", "Comma-separated list of supported TLS cipher suites between client/server and peers (empty will be auto-populated by Go)."},
    {"tls-min-version", "TLS1.2", Kind::kText, "Security", "Minimum TLS version supported by etcd (TLS1.2 or TLS1.3)."},

    {"auth-token", "simple", Kind::kText, "Auth", "Specify a v3 authentication token type and its options ('simple' or 'jwt'); selects keel's authenticator plugin."},
    {"bcrypt-cost", "10", Kind::kText, "Auth", "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid values are between 4 and 31."},
    {"auth-token-ttl", "300", Kind::kText, "Auth", "The lifetime in seconds of the auth token."},

    {"logger", "zap", Kind::kText, "Logging", "Currently only supports 'zap' for structured logging."},
    {"log-outputs", "default", Kind::kText, "Logging", "Specify 'stdout' or 'stderr' to skip journald logging even when running under systemd, or list of comma separated output targets."},
    {"log-level", "info", Kind::kText, "Logging", "Configures log level. Only supports debug, info, warn, error, panic, or fatal."},
    {"enable-pprof", "false", Kind::kBool, "Profiling", "Enable runtime profiling data via HTTP server."},
    {"metrics", "basic", Kind::kText, "Profiling", "Set level of detail for exported metrics, specify 'extensive' to include server side grpc histogram metrics."},
    {"enable-grpc-gateway", "true", Kind::kBool, "Other", "Enable GRPC gateway."},
    {"unsafe-no-fsync", "false", Kind::kBool, "Unsafe", "Disables fsync, unsafe, will cause data loss (tests and benchmarks only)."},
    {"experimental-watch-progress-notify-interval", "10m", Kind::kText, "Experimental", "Duration of periodic watch progress notifications."},
    {"experimental-compaction-batch-limit", "1000", Kind::kText, "Experimental", "Sets the maximum revisions deleted in each compaction batch."},
    {"experimental-snapshot-catchup-entries", "5000", Kind::kText, "Experimental", "Number of entries for a slow follower to catch up after compacting the raft storage entries."},
    {"experimental-enable-lease-checkpoint", "false", Kind::kBool, "Experimental", "Enable to persist lease remaining TTL to prevent indefinite auto-renewal of long lived leases."},

    // etcd 3.4 flags keel takes so an etcd command line works unchanged, but which change
    // nothing here (keel has no CORS layer, v2 API, proxy mode or capnslog packages).
    {"cors", "", Kind::kText, "Accepted for etcd compatibility (no effect)", "Comma-separated white list of origins for CORS."},
    {"host-whitelist", "", Kind::kText, "Accepted for etcd compatibility (no effect)", "Comma-separated acceptable hostnames from HTTP client requests."},
    {"debug", "false", Kind::kBool, "Accepted for etcd compatibility (no effect)", "Enable debug-level logging (deprecated in etcd; use --log-level=debug)."},
    {"log-package-levels", "", Kind::kText, "Accepted for etcd compatibility (no effect)", "capnslog's per-package log levels."},
    {"proxy", "off", Kind::kText, "Accepted for etcd compatibility (no effect)", "etcd's v2 proxy mode; only 'off' is accepted."},
    {"discovery-fallback", "proxy", Kind::kText, "Accepted for etcd compatibility (no effect)", "Expected behavior when discovery services fails."},
    {"discovery-proxy", "", Kind::kText, "Accepted for etcd compatibility (no effect)", "HTTP proxy to use for traffic to discovery service."},
    {"experimental-initial-corrupt-check", "false", Kind::kBool, "Accepted for etcd compatibility (no effect)", "Enable to check data corruption before serving any client/peer traffic."},
    {"experimental-corrupt-check-time", "0s", Kind::kText, "Accepted for etcd compatibility (no effect)", "Duration of time between cluster corruption check passes."},
    {"experimental-enable-distributed-tracing", "false", Kind::kBool, "Accepted for etcd compatibility (no effect)", "Enable experimental distributed tracing using OpenTelemetry Tracing."},
    {"experimental-backend-bbolt-freelist-type", "map", Kind::kText, "Accepted for etcd compatibility (no effect)", "bbolt's freelist type (keel has no bbolt)."},
    {"config-file", "", Kind::kText, "Accepted for etcd compatibility (no effect)", "etcd's YAML config file: not read by keel (use --config)."},

    {"config", "", Kind::kText, "keel", "keel's config file (INI, or JSON by its .json extension): plugin choices and settings.", "KEEL_"},
    {"plugin-dir", "", Kind::kText, "keel", "A folder searched for plugins before $KEEL_PLUGIN_PATH and the install's lib/keel/plugins.", "KEEL_"},
    {"backend", "lmdb", Kind::kText, "keel", "The backend plugin: a name, or the path of a .so file.", "KEEL_"},
    {"transport", "grpc", Kind::kText, "keel", "The transport plugin: a name, or the path of a .so file.", "KEEL_"},
    {"watch-hub", "default", Kind::kText, "keel", "The watch hub plugin: a name, or the path of a .so file.", "KEEL_"},
};

const FlagSpec* find_flag(const std::string& name) {
  for (const auto& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

Status bad_value(const std::string& flag, const std::string& value, const std::string& why) {
  return Status::InvalidArgument("invalid value \"" + value + "\" for flag --" + flag + ": " + why);
}

// The merged text of every flag, and which were set by someone rather than defaulted.
struct RawFlags {
  std::map<std::string, std::string> value;
  std::set<std::string> set;

  const std::string& operator[](const std::string& name) const { return value.at(name); }
  bool is_set(const std::string& name) const { return set.count(name) != 0; }
};

template <typename T>
Result<T> parse_number(const RawFlags& raw, const std::string& flag, T min = std::numeric_limits<T>::min(),
                       T max = std::numeric_limits<T>::max()) {
  const std::string& text = raw[flag];
  T n{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return bad_value(flag, text, "parse error: not a whole number");
  }
  if (n < min || n > max) {
    return bad_value(flag, text, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

Result<bool> parse_bool(const RawFlags& raw, const std::string& flag) {
  const std::string& v = raw[flag];
  if (v == "true" || v == "1" || v == "t" || v == "T" || v == "TRUE" || v == "True") return true;
  if (v == "false" || v == "0" || v == "f" || v == "F" || v == "FALSE" || v == "False") return false;
  return bad_value(flag, v, "parse error: not a boolean");
}

Result<std::chrono::nanoseconds> parse_duration_flag(const RawFlags& raw, const std::string& flag) {
  Result<std::chrono::nanoseconds> d = parse_duration(raw[flag]);
  if (!d.ok()) return bad_value(flag, raw[flag], d.status().message());
  return d;
}

Result<std::vector<Url>> parse_urls_flag(const RawFlags& raw, const std::string& flag) {
  Result<std::vector<Url>> urls = parse_url_list(raw[flag]);
  if (!urls.ok()) return bad_value(flag, raw[flag], urls.status().message());
  return urls;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> items;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t comma = text.find(',', begin);
    if (comma == std::string::npos) comma = text.size();
    if (comma > begin) items.push_back(text.substr(begin, comma - begin));
    begin = comma + 1;
  }
  return items;
}

Result<std::vector<InitialMember>> parse_initial_cluster(const std::string& text) {
  std::vector<InitialMember> members;
  for (const auto& entry : split_list(text)) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return bad_value("initial-cluster", text, "entry \"" + entry + "\" is not name=URL");
    }
    std::string name = entry.substr(0, eq);
    Result<Url> url = parse_url(entry.substr(eq + 1));
    if (!url.ok()) return bad_value("initial-cluster", text, url.status().message());
    for (const auto& m : members) {
      for (const auto& u : m.peer_urls) {
        if (u == *url && m.name != name) {
          return bad_value("initial-cluster", text,
                           "URL " + url->text + " is given for both " + m.name + " and " + name);
        }
      }
    }
    auto it = std::find_if(members.begin(), members.end(),
                           [&](const InitialMember& m) { return m.name == name; });
    if (it == members.end()) {
      members.push_back(InitialMember{name, {}});
      it = members.end() - 1;
    }
    it->peer_urls.push_back(std::move(url).value());
  }
  if (members.empty()) return bad_value("initial-cluster", text, "no member given");
  return members;
}

bool same_url_set(std::vector<Url> a, std::vector<Url> b) {
  auto key = [](const Url& u) { return u.scheme + "://" + u.host + ":" + std::to_string(u.port); };
  auto less = [&](const Url& x, const Url& y) { return key(x) < key(y); };
  std::sort(a.begin(), a.end(), less);
  std::sort(b.begin(), b.end(), less);
  return a == b;
}

Status check_unsupported(const RawFlags& raw) {
  if (!raw["config-file"].empty()) {
    return Status::InvalidArgument("etcd's --config-file (YAML) is not read by keel: give its settings as flags, "
                                   "or in keel's --config file");
  }
  if (raw["proxy"] != "off") return Status::InvalidArgument("--proxy is not supported by keel: only 'off'");
  for (const char* flag : {"auto-tls", "peer-auto-tls"}) {
    Result<bool> on = parse_bool(raw, flag);
    if (!on.ok()) return on.status();
    if (*on) {
      return Status::InvalidArgument(std::string("--") + flag +
                                     " is not supported by keel: give a certificate and key instead");
    }
  }
  for (const char* flag : {"discovery", "discovery-srv"}) {
    if (!raw[flag].empty()) {
      return Status::InvalidArgument(std::string("--") + flag +
                                     " is not supported by keel: bootstrap with --initial-cluster");
    }
  }
  Result<bool> v2 = parse_bool(raw, "enable-v2");
  if (!v2.ok()) return v2.status();
  if (*v2) return Status::InvalidArgument("--enable-v2 is not supported by keel: it serves the v3 API only");
  return Status::OK();
}

// Fills the plugin choice of the authenticator (and its settings) from --auth-token:
// "simple", or "jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=10m" as etcd takes it.
Status apply_auth_token(const RawFlags& raw, const std::string& file_choice, MemberConfig* c) {
  c->auth_token = raw["auth-token"];
  std::vector<std::string> parts = split_list(c->auth_token);
  if (parts.empty() || c->auth_token.front() == ',') {
    return bad_value("auth-token", c->auth_token, "no token type given");
  }
  if (!raw.is_set("auth-token") && !file_choice.empty()) {
    c->authenticator = file_choice;
    return Status::OK();
  }
  c->authenticator = parts[0];
  if (parts.size() > 1) {
    std::string section = std::string("authenticator.") + parts[0];
    PluginConfig settings = c->plugin_config(PluginKind::kAuthenticator, parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      size_t eq = parts[i].find('=');
      if (eq == std::string::npos || eq == 0) {
        return bad_value("auth-token", c->auth_token, "option \"" + parts[i] + "\" is not key=value");
      }
      settings.set(parts[i].substr(0, eq), parts[i].substr(eq + 1));
    }
    c->plugin_configs[section] = settings;
  }
  return Status::OK();
}

Status fill_member(const RawFlags& raw, MemberConfig* c) {
  c->name = raw["name"];
  if (c->name.empty()) return bad_value("name", "", "must not be empty");
  c->data_dir = raw.is_set("data-dir") ? raw["data-dir"] : c->name + ".keel";
  if (c->data_dir.empty()) return bad_value("data-dir", "", "must not be empty");
  c->wal_dir = raw["wal-dir"];
  Result<uint64_t> snapshot_count = parse_number<uint64_t>(raw, "snapshot-count", 1);
  if (!snapshot_count.ok()) return snapshot_count.status();
  c->snapshot_count = *snapshot_count;
  Result<uint32_t> heartbeat = parse_number<uint32_t>(raw, "heartbeat-interval", 1);
  if (!heartbeat.ok()) return heartbeat.status();
  c->heartbeat_interval_ms = *heartbeat;
  Result<uint32_t> election = parse_number<uint32_t>(raw, "election-timeout", 1);
  if (!election.ok()) return election.status();
  c->election_timeout_ms = *election;
  // etcd's own checks and words (etcdmain/config.go, embed/config.go).
  if (5 * uint64_t{c->heartbeat_interval_ms} > c->election_timeout_ms) {
    return Status::InvalidArgument("--election-timeout[" + std::to_string(c->election_timeout_ms) +
                                   "ms] should be at least as 5 times as --heartbeat-interval[" +
                                   std::to_string(c->heartbeat_interval_ms) + "ms]");
  }
  if (c->election_timeout_ms > 50000) {
    return Status::InvalidArgument("--election-timeout[" + std::to_string(c->election_timeout_ms) +
                                   "ms] is too long, and should be set less than 50000ms");
  }
  Result<bool> tick_advance = parse_bool(raw, "initial-election-tick-advance");
  if (!tick_advance.ok()) return tick_advance.status();
  c->initial_election_tick_advance = *tick_advance;

  Result<std::vector<Url>> urls = parse_urls_flag(raw, "listen-peer-urls");
  if (!urls.ok()) return urls.status();
  c->listen_peer_urls = *urls;
  urls = parse_urls_flag(raw, "listen-client-urls");
  if (!urls.ok()) return urls.status();
  c->listen_client_urls = *urls;
  if (!raw["listen-metrics-urls"].empty()) {
    urls = parse_urls_flag(raw, "listen-metrics-urls");
    if (!urls.ok()) return urls.status();
    c->listen_metrics_urls = *urls;
  }

  Result<uint32_t> u32 = parse_number<uint32_t>(raw, "max-snapshots");
  if (!u32.ok()) return u32.status();
  c->max_snapshots = *u32;
  u32 = parse_number<uint32_t>(raw, "max-wals");
  if (!u32.ok()) return u32.status();
  c->max_wals = *u32;
  Result<int64_t> quota = parse_number<int64_t>(raw, "quota-backend-bytes");
  if (!quota.ok()) return quota.status();
  c->quota_backend_bytes = *quota;
  Result<std::chrono::nanoseconds> d = parse_duration_flag(raw, "backend-batch-interval");
  if (!d.ok()) return d.status();
  c->backend_batch_interval = *d;
  u32 = parse_number<uint32_t>(raw, "backend-batch-limit", 1);
  if (!u32.ok()) return u32.status();
  c->backend_batch_limit = *u32;
  u32 = parse_number<uint32_t>(raw, "max-txn-ops", 1);
  if (!u32.ok()) return u32.status();
  c->max_txn_ops = *u32;
  Result<uint64_t> request_bytes = parse_number<uint64_t>(raw, "max-request-bytes", 1, uint64_t{1} << 31);
  if (!request_bytes.ok()) return request_bytes.status();
  c->max_request_bytes = *request_bytes;
  u32 = parse_number<uint32_t>(raw, "max-concurrent-streams", 1);
  if (!u32.ok()) return u32.status();
  c->max_concurrent_streams = *u32;
  for (auto [flag, field] : {std::pair{"grpc-keepalive-min-time", &c->grpc_keepalive_min_time},
                             std::pair{"grpc-keepalive-interval", &c->grpc_keepalive_interval},
                             std::pair{"grpc-keepalive-timeout", &c->grpc_keepalive_timeout},
                             std::pair{"experimental-watch-progress-notify-interval",
                                       &c->watch_progress_notify_interval}}) {
    d = parse_duration_flag(raw, flag);
    if (!d.ok()) return d.status();
    *field = *d;
  }
  u32 = parse_number<uint32_t>(raw, "experimental-compaction-batch-limit", 1);
  if (!u32.ok()) return u32.status();
  c->compaction_batch_limit = *u32;
  Result<uint64_t> catchup = parse_number<uint64_t>(raw, "experimental-snapshot-catchup-entries", 1);
  if (!catchup.ok()) return catchup.status();
  c->snapshot_catchup_entries = *catchup;
  return Status::OK();
}

Status fill_clustering(const RawFlags& raw, MemberConfig* c) {
  Result<std::vector<Url>> urls = parse_urls_flag(raw, "initial-advertise-peer-urls");
  if (!urls.ok()) return urls.status();
  c->initial_advertise_peer_urls = *urls;
  if (raw.is_set("listen-client-urls") && !raw.is_set("advertise-client-urls")) {
    return Status::InvalidArgument(
        "--advertise-client-urls is required when --listen-client-urls is set explicitly");
  }
  urls = parse_urls_flag(raw, "advertise-client-urls");
  if (!urls.ok()) return urls.status();
  c->advertise_client_urls = *urls;

  const std::string& state = raw["initial-cluster-state"];
  if (state != "new" && state != "existing") {
    return bad_value("initial-cluster-state", state, "valid values are \"new\" or \"existing\"");
  }
  c->initial_cluster_state_new = state == "new";
  c->initial_cluster_token = raw["initial-cluster-token"];

  if (raw["initial-cluster"].empty()) {
    c->initial_cluster = {InitialMember{c->name, c->initial_advertise_peer_urls}};
  } else {
    Result<std::vector<InitialMember>> members = parse_initial_cluster(raw["initial-cluster"]);
    if (!members.ok()) return members.status();
    c->initial_cluster = *members;
  }
  auto self = std::find_if(c->initial_cluster.begin(), c->initial_cluster.end(),
                           [&](const InitialMember& m) { return m.name == c->name; });
  if (self == c->initial_cluster.end()) {
    return Status::InvalidArgument("couldn't find local name \"" + c->name +
                                   "\" in the initial cluster configuration");
  }
  if (c->initial_cluster_state_new && !same_url_set(self->peer_urls, c->initial_advertise_peer_urls)) {
    return Status::InvalidArgument("--initial-cluster has " + c->name + "=" + join_urls(self->peer_urls) +
                                   " but missing from --initial-advertise-peer-urls=" +
                                   join_urls(c->initial_advertise_peer_urls));
  }

  for (auto [flag, field] : {std::pair{"strict-reconfig-check", &c->strict_reconfig_check},
                             std::pair{"pre-vote", &c->pre_vote},
                             std::pair{"force-new-cluster", &c->force_new_cluster}}) {
    Result<bool> b = parse_bool(raw, flag);
    if (!b.ok()) return b.status();
    *field = *b;
  }

  c->auto_compaction_mode = raw["auto-compaction-mode"];
  if (c->auto_compaction_mode == "periodic") {
    // A bare number counts hours, as etcd; otherwise a duration.
    // The largest number of hours a 64-bit count of nanoseconds holds.
    constexpr int64_t kMaxHours = INT64_MAX / 3'600'000'000'000;
    Result<int64_t> hours = parse_number<int64_t>(raw, "auto-compaction-retention", 0, kMaxHours);
    if (hours.ok()) {
      c->auto_compaction_period = std::chrono::hours(*hours);
    } else {
      Result<std::chrono::nanoseconds> d = parse_duration_flag(raw, "auto-compaction-retention");
      if (!d.ok()) return d.status();
      c->auto_compaction_period = *d;
    }
  } else if (c->auto_compaction_mode == "revision") {
    Result<int64_t> revisions = parse_number<int64_t>(raw, "auto-compaction-retention", 0);
    if (!revisions.ok()) return revisions.status();
    c->auto_compaction_revisions = *revisions;
  } else {
    return bad_value("auto-compaction-mode", c->auto_compaction_mode,
                     "valid values are \"periodic\" or \"revision\"");
  }
  return Status::OK();
}

Status fill_tls(const RawFlags& raw, const std::string& prefix, TlsConfig* tls) {
  tls->cert_file = raw[prefix + "cert-file"];
  tls->key_file = raw[prefix + "key-file"];
  tls->trusted_ca_file = raw[prefix + "trusted-ca-file"];
  tls->crl_file = raw[prefix + "crl-file"];
  Result<bool> b = parse_bool(raw, prefix + "client-cert-auth");
  if (!b.ok()) return b.status();
  tls->client_cert_auth = *b;
  b = parse_bool(raw, prefix + "auto-tls");
  if (!b.ok()) return b.status();
  tls->auto_tls = *b;
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return Status::InvalidArgument("--" + prefix + "cert-file and --" + prefix +
                                   "key-file must be given together");
  }
  return Status::OK();
}

Status fill_security_and_rest(const RawFlags& raw, MemberConfig* c) {
  // The client side's flags are named without a prefix, but for the CRL file.
  RawFlags client = raw;
  client.value["crl-file"] = raw["client-crl-file"];
  KEEL_RETURN_IF_ERROR(fill_tls(client, "", &c->client_tls));
  c->client_tls.allowed_hostname = raw["client-cert-allowed-hostname"];
  KEEL_RETURN_IF_ERROR(fill_tls(raw, "peer-", &c->peer_tls));
  c->peer_tls.allowed_cn = raw["peer-cert-allowed-cn"];
  c->peer_tls.allowed_hostname = raw["peer-cert-allowed-hostname"];
  c->cipher_suites = split_list(raw["cipher-suites"]);
  c->tls_min_version = raw["tls-min-version"];
  if (c->tls_min_version != "TLS1.2" && c->tls_min_version != "TLS1.3") {
    return bad_value("tls-min-version", c->tls_min_version, "valid values are TLS1.2 or TLS1.3");
  }

  Result<uint32_t> cost = parse_number<uint32_t>(raw, "bcrypt-cost", 4, 31);
  if (!cost.ok()) return cost.status();
  c->bcrypt_cost = *cost;
  Result<uint32_t> ttl = parse_number<uint32_t>(raw, "auth-token-ttl", 1);
  if (!ttl.ok()) return ttl.status();
  c->auth_token_ttl_seconds = *ttl;

  c->logger = raw["logger"];
  if (c->logger != "zap" && c->logger != "capnslog") {
    return bad_value("logger", c->logger, "valid values are zap or capnslog (keel logs the same way for both)");
  }
  c->log_outputs = split_list(raw["log-outputs"]);
  c->log_level = raw["log-level"];
  static const std::set<std::string> kLevels{"debug", "info", "warn", "error", "panic", "fatal"};
  if (kLevels.count(c->log_level) == 0) {
    return bad_value("log-level", c->log_level, "valid values are debug, info, warn, error, panic, fatal");
  }
  c->metrics = raw["metrics"];
  if (c->metrics != "basic" && c->metrics != "extensive") {
    return bad_value("metrics", c->metrics, "valid values are basic or extensive");
  }
  for (auto [flag, field] : {std::pair{"enable-pprof", &c->enable_pprof},
                             std::pair{"enable-grpc-gateway", &c->enable_grpc_gateway},
                             std::pair{"unsafe-no-fsync", &c->unsafe_no_fsync},
                             std::pair{"experimental-enable-lease-checkpoint",
                                       &c->enable_lease_checkpoint}}) {
    Result<bool> b = parse_bool(raw, flag);
    if (!b.ok()) return b.status();
    *field = *b;
  }
  return Status::OK();
}

// Go's flag package takes -name as well as --name; CLI11 wants the double dash.
std::vector<std::string> normalize_dashes(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args) {
    if (a.size() > 2 && a[0] == '-' && a[1] != '-' && std::isalpha(static_cast<unsigned char>(a[1]))) {
      out.push_back("-" + a);
    } else {
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace

std::string env_name_for_flag(const std::string& flag) {
  const FlagSpec* spec = find_flag(flag);
  std::string name = spec != nullptr ? spec->env_prefix : "ETCD_";
  for (char ch : flag) name += ch == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return name;
}

Environment process_environment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string name = entry.substr(0, eq);
    if (name.rfind("ETCD_", 0) == 0 || name.rfind("KEEL_", 0) == 0) env[name] = entry.substr(eq + 1);
  }
  return env;
}

Result<Invocation> parse_invocation(const std::vector<std::string>& args, const Environment& env) {
  Invocation inv;
  CLI::App app("keeld: a strongly consistent key-value store that speaks etcd's v3 API.\n"
               "Flags are etcd's; each may also be set by its ETCD_* environment variable\n"
               "(keel's own flags by KEEL_*) or in the [member] section of --config.",
               "keeld");
  app.set_help_flag("-h,--help", "Show this help and exit.");
  bool version = false;
  bool list_plugins = false;
  bool check = false;
  app.add_flag("--version", version, "Print the version and exit.");
  app.add_flag("--check", check,
               "Check the flags, the config file and the plugins, print the member keeld would "
               "run, and exit (0: ready to run, 1: a plugin cannot be had) without touching the "
               "data dir.");
  app.add_flag("--list-plugins", list_plugins,
               "List every plugin found (kind, name, version, path, whether it loads) and exit.");

  // Each flag lands in `given` as text; bool flags through their own storage.
  std::map<std::string, std::string> given;
  std::map<std::string, bool> given_bool;
  std::map<std::string, CLI::Option*> options;
  for (const auto& f : kFlags) {
    std::string default_shown = f.default_value;
    std::string help = f.help;
    help += default_shown.empty() ? "" : " (default " + default_shown + ")";
    help += " [" + env_name_for_flag(f.name) + "]";
    CLI::Option* opt = f.kind == Kind::kBool ? app.add_flag(std::string("--") + f.name, given_bool[f.name], help)
                                             : app.add_option(std::string("--") + f.name, given[f.name], help);
    opt->group(f.group);
    options[f.name] = opt;
  }

  std::vector<std::string> normalized = normalize_dashes(args);
  std::vector<std::string> reversed(normalized.rbegin(), normalized.rend());  // CLI11 takes them so
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    inv.action = Action::kHelp;
    inv.help = app.help();
    return inv;
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (what.rfind("The following argument was not expected: ", 0) == 0) {
      return Status::InvalidArgument("unknown flag or argument: " + what.substr(41) +
                                     " (keeld --help lists the flags)");
    }
    return Status::InvalidArgument(what);
  }
  if (version) {
    inv.action = Action::kVersion;
    return inv;
  }

  // Merge: defaults < config file < environment < command line.
  RawFlags raw;
  for (const auto& f : kFlags) raw.value[f.name] = f.default_value;
  std::string config_path = options["config"]->count() > 0 ? given["config"] : "";
  if (config_path.empty()) {
    auto it = env.find(env_name_for_flag("config"));
    if (it != env.end()) config_path = it->second;
  }
  ConfigFile file;
  if (!config_path.empty()) {
    Result<ConfigFile> read = read_config_file(config_path);
    if (!read.ok()) return read.status();
    file = std::move(read).value();
    for (const auto& [key, value] : file.member) {
      const FlagSpec* spec = find_flag(key);
      if (spec == nullptr || std::string(spec->group) == "keel") {
        return Status::InvalidArgument("config file " + config_path + ": unknown flag \"" + key +
                                       "\" in [member] (keeld --help lists the flags)");
      }
      raw.value[key] = value;
      raw.set.insert(key);
    }
  }
  for (const auto& f : kFlags) {
    auto it = env.find(env_name_for_flag(f.name));
    if (it != env.end()) {
      raw.value[f.name] = it->second;
      raw.set.insert(f.name);
    }
    if (options[f.name]->count() > 0) {
      raw.value[f.name] = f.kind == Kind::kBool ? (given_bool[f.name] ? "true" : "false") : given[f.name];
      raw.set.insert(f.name);
    }
  }

  MemberConfig& c = inv.config;
  KEEL_RETURN_IF_ERROR(check_unsupported(raw));
  KEEL_RETURN_IF_ERROR(fill_member(raw, &c));
  KEEL_RETURN_IF_ERROR(fill_clustering(raw, &c));
  KEEL_RETURN_IF_ERROR(fill_security_and_rest(raw, &c));

  // Plugins: [plugins] in the file, overridden by keel's flags (and their KEEL_* variables).
  c.plugin_configs = file.plugin_configs;
  auto choose = [&](const std::string& flag, const std::string& file_key, std::string* field) {
    auto it = file.plugins.find(file_key);
    if (raw.is_set(flag)) {
      *field = raw[flag];
    } else if (it != file.plugins.end()) {
      *field = it->second;
    } else {
      *field = raw[flag];
    }
  };
  choose("plugin-dir", "dir", &c.plugin_dir);
  choose("backend", "backend", &c.backend);
  choose("transport", "transport", &c.transport);
  choose("watch-hub", "watch_hub", &c.watch_hub);
  auto file_auth = file.plugins.find("authenticator");
  KEEL_RETURN_IF_ERROR(apply_auth_token(raw, file_auth != file.plugins.end() ? file_auth->second : "", &c));
  for (auto kind : {PluginKind::kBackend, PluginKind::kTransport, PluginKind::kAuthenticator,
                    PluginKind::kWatchHub}) {
    if (c.plugin_choice(kind).empty()) {
      return Status::InvalidArgument(std::string("no ") + plugin_kind_name(kind) + " plugin is chosen");
    }
  }

  inv.action = list_plugins ? Action::kListPlugins : check ? Action::kCheck : Action::kRun;
  return inv;
}

}  // namespace keel::config
