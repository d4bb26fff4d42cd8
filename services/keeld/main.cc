// keeld: the keel member. Takes etcd's flags (so it can stand in for an `etcd` binary) plus
// --config for the plugin choices.
//
// Until the server lands (issue #7), keeld checks its configuration, loads and instantiates the
// chosen plugins, prints what it would run, and exits: 0 when everything is in place, 1 when a
// plugin cannot be had, 2 for a bad flag or config. Nothing touches the data dir yet.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "config/config.h"
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

// Makes the engine of `plugin` through its factory, proving it loads and accepts its settings.
Status instantiate(const plugin_host::LoadedPlugin& plugin, const PluginContext& context) {
  switch (plugin.kind()) {
    case PluginKind::kBackend: return plugin_host::create_backend(plugin, context).status();
    case PluginKind::kTransport: return plugin_host::create_transport(plugin, context).status();
    case PluginKind::kAuthenticator: return plugin_host::create_authenticator(plugin, context).status();
    case PluginKind::kWatchHub: return plugin_host::create_watch_hub(plugin, context).status();
  }
  return Status::Internal("unknown plugin kind");
}

void row(const std::string& label, const std::string& value) {
  std::printf("  %-22s %s\n", label.c_str(), value.c_str());
}

int run(const config::MemberConfig& c, plugin_host::PluginHost& host, Logger& logger) {
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

  std::vector<std::string> problems;
  for (PluginKind kind : kKinds) {
    const std::string& choice = c.plugin_choice(kind);
    Result<plugin_host::LoadedPlugin> plugin = host.resolve(kind, choice);
    if (!plugin.ok()) {
      row(plugin_kind_name(kind), choice + ": not available");
      problems.push_back(plugin.status().message());
      continue;
    }
    PluginConfig settings = c.plugin_config(kind, plugin->name());
    PluginContext context{settings, logger};
    Status made = instantiate(*plugin, context);
    row(plugin_kind_name(kind), choice + " " + plugin->version() + " (" + plugin->path + ")" +
                                    (made.ok() ? "" : ": refused its settings"));
    if (!made.ok()) problems.push_back(made.message());
  }
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "keeld: cannot start: " << p << "\n";
    return 1;
  }
  std::cout << "keeld: configuration and plugins are in place; the server itself lands with "
               "issue #7, so keeld stops here.\n";
  return 0;
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
    case config::Action::kRun:
      break;
  }
  plugin_host::PluginHost host(plugin_host::default_plugin_search_path(inv->config.plugin_dir));
  if (inv->action == config::Action::kListPlugins) return list_plugins(host);
  SpdlogLogger logger(inv->config.log_level);
  return run(inv->config, host, logger);
}
