// keeld: the keel member. Takes etcd's flags (so it can stand in for an `etcd` binary) plus
// --config for the plugin choices.
//
// keeld runs one member (alone, or in a cluster with others) and serves etcd's v3 gRPC API on
// the client URLs until SIGINT or SIGTERM. Exit codes: 0 after a clean stop, 1 when a plugin
// cannot be had, the data dir refuses or the member stopped on a storage failure, 2 for a bad
// flag or config (a flag keel does not serve yet among them). `keeld --check` stops after
// checking the configuration and the plugins: every check a start makes before it touches the
// data dir.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"
#include "failpoint/failpoint.h"
#include "failpoint/failpoint_control.h"
#include "grpc/services.h"
#include "http/http.h"
#include "http/member_metrics.h"
#include "metrics/metrics.h"
#include "server/node.h"
#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"
#include "spdlog_logger.h"

namespace keel {
namespace {

constexpr const char* kVersion = "0.1.0";
constexpr const char* kEtcdApiVersion = "3.4";

constexpr PluginKind kKinds[] = {PluginKind::kBackend, PluginKind::kTransport,
                                 PluginKind::kAuthenticator, PluginKind::kWatchHub};

int list_plugins(plugin_host::PluginHost& host) {
  std::cout << "keel plugin ABI " << kAbiVersion << "; looked in:";
  for (const auto& dir : host.search_dirs()) std::cout << " " << dir;
  std::cout << "\n";
  const auto& candidates = host.scan();
  if (candidates.empty()) std::cout << "no plugins found\n";
  for (const auto& c : candidates) {
    if (c.plugin.ok()) {
      std::printf("%-14s %-12s %-10s %s  loads\n", plugin_kind_name(c.plugin->kind()),
                  c.plugin->name().c_str(), c.plugin->version().c_str(), c.path.c_str());
    } else {
      std::printf("%-14s %-12s %-10s %s  refused: %s\n", "?", "?", "?", c.path.c_str(),
                  c.plugin.status().message().c_str());
    }
  }
  return 0;
}

void row(const std::string& label, const std::string& value) {
  std::printf("  %-22s %s\n", label.c_str(), value.c_str());
}

// The engines of a member, made by their plugins' factories. The transport is left out when the
// member starts a cluster alone and the plugin cannot be had: it then carries no message, and the
// member cannot grow by MemberAdd.
struct Engines {
  std::unique_ptr<BackendPlugin> backend;
  std::string backend_name;
  std::unique_ptr<TransportPlugin> transport;
  std::unique_ptr<AuthenticatorPlugin> authenticator;
  std::unique_ptr<WatchHubPlugin> watch_hub;
};

// Loads and makes every chosen engine, printing a row for each when `print` is set. Returns the
// problems that stop the member from starting (empty: it can run).
std::vector<std::string> make_engines(const config::MemberConfig& c, plugin_host::PluginHost& host,
                                      Logger& logger, bool print, Engines* engines) {
  std::vector<std::string> problems;
  // A member joining a running cluster needs the transport to ask it, however short the list
  // (Node::open refuses it otherwise), so --check must not call it alone.
  const bool alone = c.initial_cluster.size() <= 1 && c.initial_cluster_state_new;
  for (PluginKind kind : kKinds) {
    const std::string& choice = c.plugin_choice(kind);
    Result<plugin_host::LoadedPlugin> plugin = host.resolve(kind, choice);
    if (!plugin.ok()) {
      if (kind == PluginKind::kTransport && alone) {
        if (print) row(plugin_kind_name(kind), choice + ": not available (a member alone in its cluster needs none)");
        logger.info("transport " + choice + " is not available; a member alone in its cluster needs none");
        continue;
      }
      if (print) row(plugin_kind_name(kind), choice + ": not available");
      problems.push_back(plugin.status().message());
      continue;
    }
    PluginConfig settings = c.plugin_config(kind, plugin->name());
    PluginContext context{settings, logger};
    Status made;
    switch (kind) {
      case PluginKind::kBackend: {
        auto r = plugin_host::create_backend(*plugin, context);
        made = r.status();
        if (r.ok()) engines->backend = std::move(r).value();
        engines->backend_name = plugin->name();
        break;
      }
      case PluginKind::kTransport: {
        auto r = plugin_host::create_transport(*plugin, context);
        made = r.status();
        if (r.ok()) engines->transport = std::move(r).value();
        break;
      }
      case PluginKind::kAuthenticator: {
        auto r = plugin_host::create_authenticator(*plugin, context);
        made = r.status();
        if (r.ok()) engines->authenticator = std::move(r).value();
        break;
      }
      case PluginKind::kWatchHub: {
        auto r = plugin_host::create_watch_hub(*plugin, context);
        made = r.status();
        if (r.ok()) engines->watch_hub = std::move(r).value();
        break;
      }
    }
    if (print) {
      row(plugin_kind_name(kind), choice + " " + plugin->version() + " (" + plugin->path + ")" +
                                      (made.ok() ? "" : ": refused its settings"));
    }
    logger.info("loaded " + std::string(plugin_kind_name(kind)) + " plugin " + plugin->name() + " " +
                plugin->version() + " from " + plugin->path + (made.ok() ? "" : ": refused its settings"));
    if (!made.ok()) problems.push_back(made.message());
  }
  return problems;
}

void print_member(const config::MemberConfig& c) {
  std::printf("member %s\n", c.name.c_str());
  row("data dir", c.data_dir);
  row("listen client urls", config::join_urls(c.listen_client_urls));
  row("advertise client urls", config::join_urls(c.advertise_client_urls));
  row("listen peer urls", config::join_urls(c.listen_peer_urls));
  std::string cluster;
  for (const auto& m : c.initial_cluster) {
    cluster += (cluster.empty() ? "" : ",") + m.name + "=" + config::join_urls(m.peer_urls);
  }
  row("initial cluster", cluster + (c.initial_cluster_state_new ? " (new)" : " (existing)"));
}

// keeld --check: everything but running.
int check(const config::MemberConfig& c, plugin_host::PluginHost& host, Logger& logger) {
  print_member(c);
  Engines engines;
  std::vector<std::string> problems = make_engines(c, host, logger, true, &engines);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "keeld: cannot start: " << p << "\n";
    return 1;
  }
  std::cout << "keeld: configuration and plugins are in place.\n";
  return 0;
}

std::vector<std::string> url_texts(const std::vector<config::Url>& urls) {
  std::vector<std::string> out;
  for (const auto& u : urls) out.push_back(u.text);
  return out;
}

// The peer URLs that make this member's id: its entry in --initial-cluster, as etcd reads them.
std::vector<std::string> own_peer_urls(const config::MemberConfig& c) {
  for (const auto& m : c.initial_cluster) {
    if (m.name == c.name) return url_texts(m.peer_urls);
  }
  return url_texts(c.initial_advertise_peer_urls);
}

int serve(const config::MemberConfig& c, plugin_host::PluginHost& host, Logger& logger) {
  logger.info("starting member " + c.name + ": data dir " + c.data_dir + ", client urls " +
              config::join_urls(c.listen_client_urls) + ", peer urls " +
              config::join_urls(c.listen_peer_urls) + ", snapshot count " +
              std::to_string(c.snapshot_count) + ", heartbeat " + std::to_string(c.heartbeat_interval_ms) +
              " ms, election timeout " + std::to_string(c.election_timeout_ms) + " ms, max request bytes " +
              std::to_string(c.max_request_bytes) + ", max txn ops " + std::to_string(c.max_txn_ops));
  Engines engines;
  std::vector<std::string> problems = make_engines(c, host, logger, false, &engines);
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "keeld: cannot start: " << p << "\n";
    return 1;
  }

  // The member's metrics: outlives the node and the servers that measure and render them.
  metrics::Registry registry;
  server::NodeOptions options;
  options.name = c.name;
  options.data_dir = c.data_dir;
  options.peer_urls = own_peer_urls(c);
  options.client_urls = url_texts(c.advertise_client_urls);
  options.cluster_token = c.initial_cluster_token;
  for (const auto& m : c.initial_cluster) options.initial_cluster.push_back({m.name, url_texts(m.peer_urls)});
  options.initial_cluster_state_new = c.initial_cluster_state_new;
  options.strict_reconfig_check = c.strict_reconfig_check;
  options.force_new_cluster = c.force_new_cluster;
  options.listen_peer_urls = url_texts(c.listen_peer_urls);
  // A member alone listens on its peer URL too (as etcd), so it can grow by MemberAdd.
  options.transport = engines.transport.get();
  options.heartbeat_interval = std::chrono::milliseconds(c.heartbeat_interval_ms);
  options.election_timeout = std::chrono::milliseconds(c.election_timeout_ms);
  options.pre_vote = c.pre_vote;
  options.max_request_bytes = c.max_request_bytes;
  options.max_txn_ops = c.max_txn_ops;
  options.backend_batch_limit = c.backend_batch_limit;
  options.backend_batch_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.backend_batch_interval);
  options.compaction_batch_limit = c.compaction_batch_limit;
  options.unsafe_no_fsync = c.unsafe_no_fsync;
  options.wal_dir = c.wal_dir;
  options.quota_bytes = c.effective_quota_backend_bytes();
  options.snapshot_count = c.snapshot_count;
  options.snapshot_catchup_entries = c.snapshot_catchup_entries;
  options.max_snapshots = c.max_snapshots;
  options.max_wals = c.max_wals;
  if (c.auto_compaction_mode == "revision") {
    options.auto_compaction = {server::AutoCompactionPolicy::Mode::kRevision, {}, c.auto_compaction_revisions};
  } else {
    options.auto_compaction = {server::AutoCompactionPolicy::Mode::kPeriodic, c.auto_compaction_period, 0};
  }
  options.backend = engines.backend.get();
  options.backend_name = engines.backend_name;
  options.watch_hub = engines.watch_hub.get();
  options.watch_progress_interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.watch_progress_notify_interval);
  options.logger = &logger;
  options.metrics = &registry;

  // Signals are taken by sigtimedwait below, so every thread started from here on blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<std::unique_ptr<server::Node>> node = server::Node::open(options);
  if (!node.ok()) {
    std::cerr << "keeld: cannot start: " << node.status().message() << "\n";
    logger.error("cannot start: " + node.status().to_string());
    return 1;
  }
  grpcsvc::ClientServerOptions server_options;
  server_options.registry = &registry;  // no ports of its own: the HTTP listener hands it HTTP/2
  server_options.max_request_bytes = c.max_request_bytes;
  server_options.max_concurrent_streams = c.max_concurrent_streams;
  auto ms = [](std::chrono::nanoseconds d) {
    return static_cast<int>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(d).count(), INT32_MAX));
  };
  server_options.keepalive_min_time_ms = ms(c.grpc_keepalive_min_time);
  server_options.keepalive_interval_ms = ms(c.grpc_keepalive_interval);
  server_options.keepalive_timeout_ms = ms(c.grpc_keepalive_timeout);
  Result<std::unique_ptr<grpcsvc::ClientServer>> clients =
      grpcsvc::ClientServer::start(**node, server_options);
  if (!clients.ok()) {
    std::cerr << "keeld: cannot start: " << clients.status().message() << "\n";
    logger.error("cannot start: " + clients.status().to_string());
    (*node)->stop();
    return 1;
  }
  // The client URLs (HTTP/1.1 here, HTTP/2 handed to gRPC, as etcd's cmux) and the metrics URLs.
  http::register_member_metrics(registry, **node);
  http::HttpOptions http_options;
  http_options.client_urls = c.listen_client_urls;
  http_options.metrics_urls = c.listen_metrics_urls;
  http_options.grpc_handoff = [grpc_server = clients->get()](int fd) { grpc_server->adopt(fd); };
  http_options.logger = &logger;
  Result<std::unique_ptr<http::HttpServer>> http_server = http::HttpServer::start(**node, registry, http_options);
  if (!http_server.ok()) {
    std::cerr << "keeld: cannot start: " << http_server.status().message() << "\n";
    logger.error("cannot start: " + http_server.status().to_string());
    (*clients)->shutdown();
    (*node)->stop();
    return 1;
  }

  // Runs until SIGINT or SIGTERM, or until the member stops by itself (a storage failure, or its
  // removal from the cluster).
  bool announced = false;
  bool serving = false;
  int exit_code = 0;
  for (;;) {
    timespec wait{0, 50 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) {
      logger.info(std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ", stopping");
      break;
    }
    Status failed = (*node)->failure();
    if (!failed.ok()) {
      std::cerr << "keeld: stopped: " << failed.message() << "\n";
      exit_code = 1;
      break;
    }
    if ((*node)->removed()) {
      // etcd exits 0 once it has stopped after its removal.
      std::cerr << "keeld: the member has been permanently removed from the cluster\n";
      logger.warn("the member has been permanently removed from the cluster; its data dir must be removed "
                  "before it can join again as a new member");
      break;
    }
    const bool leader = (*node)->has_leader();
    if (leader != serving) {
      (*clients)->set_serving(leader);
      serving = leader;
    }
    // As etcd: ready once this member's attributes are published through the log, so what a
    // client writes next comes after that entry.
    if (leader && (*node)->published() && !announced) {
      announced = true;
      logger.info("ready to serve client requests on " + config::join_urls(c.listen_client_urls));
    }
  }
  (*http_server)->shutdown();  // first: it hands connections to the gRPC server
  (*clients)->shutdown();
  (*node)->stop();
  return exit_code;
}
}  // namespace
}  // namespace keel

int main(int argc, char** argv) {
  using namespace keel;
  std::vector<std::string> args(argv + 1, argv + argc);
  Result<config::Invocation> inv = config::parse_invocation(args, config::process_environment());
  if (!inv.ok()) {
    std::cerr << "keeld: " << inv.status().message() << "\n";
    return 2;
  }
  switch (inv->action) {
    case config::Action::kHelp:
      std::cout << inv->help;
      return 0;
    case config::Action::kVersion:
      std::cout << "keeld Version: " << kVersion << "\netcd API Version: " << kEtcdApiVersion
                << "\nkeel plugin ABI: " << kAbiVersion << "\nbuilt with: " KEEL_BUILD_IDENTITY "\n";
      return 0;
    case config::Action::kListPlugins:
    case config::Action::kCheck:
    case config::Action::kRun:
      break;
  }
  plugin_host::PluginHost host(plugin_host::default_plugin_search_path(inv->config.plugin_dir));
  if (inv->action == config::Action::kListPlugins) return list_plugins(host);
  SpdlogLogger logger(inv->config.log_level);
  // Failpoints are tests' (failpoint_control.h): none is on unless the environment names it.
  Result<std::unique_ptr<failpoint::FailpointControl>> failpoints =
      failpoint::FailpointControl::from_environment(&logger);
  if (!failpoints.ok()) {
    std::cerr << "keeld: " << failpoints.status().message() << "\n";
    return 2;
  }
  for (const std::string& on : failpoint::list()) logger.warn("failpoint on: " + on);
  if (inv->action == config::Action::kCheck) return check(inv->config, host, logger);
  return serve(inv->config, host, logger);
}
