// etcd 3.4's server flags as keeld takes them: the table below is the one place a flag is named,
// given its default and its help; parse_invocation merges the sources and builds a MemberConfig.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>
#include <string_view>

#include <CLI/CLI.hpp>

#include "config/config.h"

extern char** environ;

namespace keel::config {
namespace {

enum class Kind { kText, kBool };

// The help group of the flags keel parses but does not serve yet. Each is refused unless it is
// given at its default, which is what keel does, so that an etcd command line spelling out its
// defaults still works while no setting is taken and then silently ignored.
constexpr std::string_view kNotYet = "Not supported by keel yet (refused unless at the default)";

struct FlagSpec {
  const char* name;
  const char* default_value;
  Kind kind;
  std::string_view group;
  const char* help;
  const char* env_prefix = "ETCD_";

  bool served() const { return group != kNotYet; }
};

// Defaults are etcd 3.5's, but for: clients and peers on 127.0.0.1 rather than localhost, the data
// dir named <name>.keel, a snapshot every 10,000 entries (etcd 3.6), and the flags keel does not
// serve, whose default is what keel does (leases are always checkpointed, no initial election
// tick is advanced, there is no gRPC gateway).
const FlagSpec kFlags[] = {
    {"name", "default", Kind::kText, "Member", "Human-readable name for this member."},
    {"data-dir", "${name}.keel", Kind::kText, "Member", "Path to the data directory."},
    {"wal-dir", "", Kind::kText, "Member", "Path to the dedicated wal directory."},
    {"snapshot-count", "10000", Kind::kText, "Member", "Number of committed transactions to trigger a snapshot to disk."},
    {"heartbeat-interval", "100", Kind::kText, "Member", "Time (in milliseconds) of a heartbeat interval."},
    {"election-timeout", "1000", Kind::kText, "Member", "Time (in milliseconds) for an election to timeout."},
    {"listen-peer-urls", "http://127.0.0.1:2380", Kind::kText, "Member", "List of URLs to listen on for peer traffic (http only: no TLS yet)."},
    {"listen-client-urls", "http://127.0.0.1:2379", Kind::kText, "Member", "List of URLs to listen on for client traffic (http only: no TLS yet)."},
    {"listen-metrics-urls", "", Kind::kText, "Member", "List of URLs to listen on for the metrics and health endpoints (http only: no TLS yet)."},
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
    {"strict-reconfig-check", "true", Kind::kBool, "Clustering", "Reject reconfiguration requests that would cause quorum loss."},
    {"pre-vote", "true", Kind::kBool, "Clustering", "Enable to run an additional Raft election phase."},
    {"auto-compaction-retention", "0", Kind::kText, "Clustering", "Auto compaction retention length. 0 means disable auto compaction."},
    {"auto-compaction-mode", "periodic", Kind::kText, "Clustering", "Interpret 'auto-compaction-retention' one of: periodic|revision."},
    {"force-new-cluster", "false", Kind::kBool, "Clustering", "Force to create a new one member cluster."},

    {"auth-token", "simple", Kind::kText, "Auth", "Specify a v3 authentication token type and its options ('simple' or 'jwt'); selects keel's authenticator plugin."},
    {"log-level", "info", Kind::kText, "Logging", "Configures log level. Only supports debug, info, warn, error, panic, or fatal."},
    {"unsafe-no-fsync", "false", Kind::kBool, "Unsafe", "Disables fsync, unsafe, will cause data loss (tests and benchmarks only)."},
    {"experimental-watch-progress-notify-interval", "10m", Kind::kText, "Experimental", "Duration of periodic watch progress notifications."},
    {"experimental-compaction-batch-limit", "1000", Kind::kText, "Experimental", "Sets the maximum revisions deleted in each compaction batch."},
    {"experimental-snapshot-catchup-entries", "5000", Kind::kText, "Experimental", "Number of entries for a slow follower to catch up after compacting the raft storage entries."},

    {"initial-election-tick-advance", "false", Kind::kBool, kNotYet, "Whether to fast-forward initial election ticks on boot for faster election (etcd's default is true; keel does not)."},
    {"discovery", "", Kind::kText, kNotYet, "Discovery URL used to bootstrap the cluster."},
    {"discovery-srv", "", Kind::kText, kNotYet, "DNS srv domain used to bootstrap the cluster."},
    {"discovery-fallback", "proxy", Kind::kText, kNotYet, "Expected behavior when discovery services fails."},
    {"discovery-proxy", "", Kind::kText, kNotYet, "HTTP proxy to use for traffic to discovery service."},
    {"enable-v2", "false", Kind::kBool, kNotYet, "Accept etcd V2 client requests."},
    {"proxy", "off", Kind::kText, kNotYet, "etcd's v2 proxy mode."},
    {"cert-file", "", Kind::kText, kNotYet, "Path to the client server TLS cert file."},
    {"key-file", "", Kind::kText, kNotYet, "Path to the client server TLS key file."},
    {"client-cert-auth", "false", Kind::kBool, kNotYet, "Enable client cert authentication."},
    {"client-crl-file", "", Kind::kText, kNotYet, "Path to the client certificate revocation list file."},
    {"client-cert-allowed-hostname", "", Kind::kText, kNotYet, "Allowed TLS hostname for client cert authentication."},
    {"trusted-ca-file", "", Kind::kText, kNotYet, "Path to the client server TLS trusted CA cert file."},
    {"auto-tls", "false", Kind::kBool, kNotYet, "Client TLS using generated certificates."},
    {"peer-cert-file", "", Kind::kText, kNotYet, "Path to the peer server TLS cert file."},
    {"peer-key-file", "", Kind::kText, kNotYet, "Path to the peer server TLS key file."},
    {"peer-client-cert-auth", "false", Kind::kBool, kNotYet, "Enable peer client cert authentication."},
    {"peer-trusted-ca-file", "", Kind::kText, kNotYet, "Path to the peer server TLS trusted CA file."},
    {"peer-cert-allowed-cn", "", Kind::kText, kNotYet, "Allowed CN for inter peer authentication."},
    {"peer-cert-allowed-hostname", "", Kind::kText, kNotYet, "Allowed TLS hostname for inter peer authentication."},
    {"peer-auto-tls", "false", Kind::kBool, kNotYet, "Peer TLS using self-generated certificates if --peer-key-file and --peer-cert-file are not provided."},
    {"peer-crl-file", "", Kind::kText, kNotYet, "Path to the peer certificate revocation list file."},
    {"cipher-suites", "", Kind::kText, kNotYet, "Comma-separated list of supported TLS cipher suites between client/server and peers."},
    {"tls-min-version", "TLS1.2", Kind::kText, kNotYet, "Minimum TLS version supported by etcd (TLS1.2 or TLS1.3)."},
    {"cors", "", Kind::kText, kNotYet, "Comma-separated white list of origins for CORS."},
    {"host-whitelist", "*", Kind::kText, kNotYet, "Comma-separated acceptable hostnames from HTTP client requests (keel takes any)."},
    {"bcrypt-cost", "10", Kind::kText, kNotYet, "Specify the cost / strength of the bcrypt algorithm for hashing auth passwords."},
    {"auth-token-ttl", "300", Kind::kText, kNotYet, "The lifetime in seconds of the auth token."},
    {"logger", "zap", Kind::kText, kNotYet, "etcd's logger (keel logs with its own)."},
    {"log-outputs", "default", Kind::kText, kNotYet, "Where logs go (keel logs to stderr, as etcd's default)."},
    {"log-package-levels", "", Kind::kText, kNotYet, "capnslog's per-package log levels."},
    {"debug", "false", Kind::kBool, kNotYet, "Enable debug-level logging (deprecated in etcd; use --log-level=debug)."},
    {"enable-pprof", "false", Kind::kBool, kNotYet, "Enable runtime profiling data via HTTP server."},
    {"metrics", "basic", Kind::kText, kNotYet, "Set level of detail for exported metrics ('extensive' adds server side grpc histograms)."},
    {"enable-grpc-gateway", "false", Kind::kBool, kNotYet, "Enable GRPC gateway (etcd's default is true; keel has none)."},
    {"experimental-enable-lease-checkpoint", "true", Kind::kBool, kNotYet, "Persist lease remaining TTL to prevent indefinite auto-renewal of long lived leases (keel always does)."},
    {"experimental-initial-corrupt-check", "false", Kind::kBool, kNotYet, "Enable to check data corruption before serving any client/peer traffic."},
    {"experimental-corrupt-check-time", "0s", Kind::kText, kNotYet, "Duration of time between cluster corruption check passes."},
    {"experimental-enable-distributed-tracing", "false", Kind::kBool, kNotYet, "Enable experimental distributed tracing using OpenTelemetry Tracing."},
    {"experimental-backend-bbolt-freelist-type", "map", Kind::kText, kNotYet, "bbolt's freelist type (keel has no bbolt)."},
    {"config-file", "", Kind::kText, kNotYet, "etcd's YAML config file (keel reads --config instead)."},

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

// Where more can be said than that a flag is not supported yet: what to do instead, or why.
struct Refusal {
  const char* flag;
  const char* message;
};
const Refusal kRefusals[] = {
    {"config-file", "etcd's --config-file (YAML) is not read by keel: give its settings as flags, "
                    "or in keel's --config file"},
    {"proxy", "--proxy is not supported by keel: only 'off'"},
    {"auto-tls", "--auto-tls is not supported by keel: it serves no TLS yet"},
    {"peer-auto-tls", "--peer-auto-tls is not supported by keel: it serves no TLS yet"},
    {"discovery", "--discovery is not supported by keel: bootstrap with --initial-cluster"},
    {"discovery-srv", "--discovery-srv is not supported by keel: bootstrap with --initial-cluster"},
    {"enable-v2", "--enable-v2 is not supported by keel: it serves the v3 API only"},
    {"experimental-enable-lease-checkpoint",
     "--experimental-enable-lease-checkpoint=false is not supported by keel: leases are always checkpointed"},
};

// Whether an unserved flag's merged value means its default. Booleans compare by meaning, so
// "--client-cert-auth=0" is the default as much as "false" is.
Result<bool> at_default(const RawFlags& raw, const FlagSpec& f) {
  if (f.kind == Kind::kText) return raw[f.name] == f.default_value;
  Result<bool> given = parse_bool(raw, f.name);
  if (!given.ok()) return given.status();
  return *given == (std::string_view(f.default_value) == "true");
}

Status refusal(const FlagSpec& f, const std::string& given) {
  for (const auto& r : kRefusals) {
    if (std::string_view(r.flag) == f.name) return Status::InvalidArgument(r.message);
  }
  return Status::InvalidArgument(std::string("--") + f.name + " is not supported by keel yet (given \"" + given +
                                 "\"; only its default \"" + f.default_value + "\" is taken)");
}

Status check_unsupported(const RawFlags& raw) {
  for (const auto& f : kFlags) {
    if (f.served()) continue;
    Result<bool> harmless = at_default(raw, f);
    if (!harmless.ok()) return harmless.status();
    if (!*harmless) return refusal(f, raw[f.name]);
  }
  return Status::OK();
}

// TLS is not served yet: an https URL to listen on is refused here, so that --check refuses it as
// a start does.
Status check_plain_http(const std::vector<Url>& urls, const char* flag, const char* kind) {
  for (const auto& u : urls) {
    if (u.scheme != "http") {
      return Status::InvalidArgument(std::string("--") + flag + " " + u.text + ": TLS on " + kind +
                                     " URLs is not supported by keel yet");
    }
  }
  return Status::OK();
}

// Fills the plugin choice of the authenticator (and its settings) from --auth-token:
// "simple", or "jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=10m" as etcd takes it.
Status apply_auth_token(const RawFlags& raw, const std::string& file_choice, MemberConfig* c) {
  const std::string& token = raw["auth-token"];
  std::vector<std::string> parts = split_list(token);
  if (parts.empty() || token.front() == ',') return bad_value("auth-token", token, "no token type given");
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
        return bad_value("auth-token", token, "option \"" + parts[i] + "\" is not key=value");
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
  KEEL_RETURN_IF_ERROR(check_plain_http(c->listen_peer_urls, "listen-peer-urls", "peer"));
  KEEL_RETURN_IF_ERROR(check_plain_http(c->listen_client_urls, "listen-client-urls", "client"));
  KEEL_RETURN_IF_ERROR(check_plain_http(c->listen_metrics_urls, "listen-metrics-urls", "metrics"));

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

Status fill_logging_and_rest(const RawFlags& raw, MemberConfig* c) {
  c->log_level = raw["log-level"];
  static const std::set<std::string> kLevels{"debug", "info", "warn", "error", "panic", "fatal"};
  if (kLevels.count(c->log_level) == 0) {
    return bad_value("log-level", c->log_level, "valid values are debug, info, warn, error, panic, fatal");
  }
  Result<bool> no_fsync = parse_bool(raw, "unsafe-no-fsync");
  if (!no_fsync.ok()) return no_fsync.status();
  c->unsafe_no_fsync = *no_fsync;
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

std::vector<FlagInfo> known_flags() {
  std::vector<FlagInfo> flags;
  for (const auto& f : kFlags) flags.push_back({f.name, f.default_value, f.kind == Kind::kBool, f.served()});
  return flags;
}

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
               "run, and exit without touching the data dir: 0 when it can run, 1 when a plugin "
               "cannot be had or refuses its settings, 2 for a bad or unsupported flag or config.");
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
    opt->group(std::string(f.group));
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
      if (spec == nullptr || spec->group == "keel") {
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
  KEEL_RETURN_IF_ERROR(fill_logging_and_rest(raw, &c));

  // Plugins: [plugins] in the file, overridden by keel's flags (and their KEEL_* variables).
  c.plugin_configs = PluginConfigs(file.plugin_configs.begin(), file.plugin_configs.end());
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
