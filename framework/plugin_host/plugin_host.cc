#include "plugin_host/plugin_host.h"

#include <algorithm>
#include <exception>

#include <boost/filesystem.hpp>

namespace keel::plugin_host {
namespace {

namespace fs = boost::filesystem;

bool is_path(const std::string& choice) {
  return choice.find('/') != std::string::npos ||
         (choice.size() > 3 && choice.compare(choice.size() - 3, 3, ".so") == 0);
}

std::vector<std::string> shared_objects_in(const std::string& dir) {
  std::vector<std::string> files;
  boost::system::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".so" && fs::is_regular_file(it->path(), ec)) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string describe_search(const std::vector<std::string>& dirs) {
  if (dirs.empty()) return "no folders (set plugin_dir or KEEL_PLUGIN_PATH)";
  std::string s;
  for (const auto& dir : dirs) {
    boost::system::error_code ec;
    if (!s.empty()) s += ", ";
    s += dir;
    if (!fs::is_directory(dir, ec)) s += " (missing)";
  }
  return s;
}

template <typename Engine, typename Factory>
Result<std::unique_ptr<Engine>> call_factory(const LoadedPlugin& plugin, PluginKind kind,
                                             Factory factory, const PluginContext& context) {
  if (plugin.kind() != kind || factory == nullptr) {
    return Status::Internal(plugin.path + " is not a " + plugin_kind_name(kind) + " plugin");
  }
  Result<std::unique_ptr<Engine>> made = Status::Internal("");
  try {
    made = factory(context);
  } catch (const std::exception& e) {
    made = Status::Internal(std::string("the factory threw: ") + e.what());
  } catch (...) {
    made = Status::Internal("the factory threw an exception");
  }
  if (!made.ok()) {
    return made.status().with_context(std::string(plugin_kind_name(kind)) + " plugin \"" +
                                      plugin.name() + "\" (" + plugin.path + ")");
  }
  if (*made == nullptr) {
    return Status::Internal(plugin.path + ": the factory returned no " + plugin_kind_name(kind));
  }
  return made;
}

}  // namespace

PluginHost::PluginHost(std::vector<std::string> search_dirs) : search_dirs_(std::move(search_dirs)) {}

const std::vector<PluginCandidate>& PluginHost::scan() {
  if (scanned_) return candidates_;
  scanned_ = true;
  for (const auto& dir : search_dirs_) {
    for (const auto& file : shared_objects_in(dir)) {
      candidates_.push_back(PluginCandidate{file, load_plugin_file(file)});
    }
  }
  return candidates_;
}

Result<LoadedPlugin> PluginHost::resolve(PluginKind kind, const std::string& choice) {
  const std::string kind_name = plugin_kind_name(kind);
  if (choice.empty()) return Status::InvalidArgument("no " + kind_name + " plugin is chosen");

  if (is_path(choice)) {
    Result<LoadedPlugin> plugin = load_plugin_file(choice);
    if (!plugin.ok()) return plugin;
    if (plugin->kind() != kind) {
      return Status::InvalidArgument(choice + " is a " + plugin_kind_name(plugin->kind()) +
                                     " plugin (\"" + plugin->name() + "\"), but it was chosen as the " +
                                     kind_name);
    }
    return plugin;
  }

  std::vector<const LoadedPlugin*> matches;
  std::string found;     // plugins of this kind, for the "unknown name" message
  std::string refused;   // files that failed their checks
  std::string other_kind;
  for (const auto& candidate : scan()) {
    if (!candidate.plugin.ok()) {
      refused += "\n  " + candidate.plugin.status().message();
      continue;
    }
    const LoadedPlugin& p = *candidate.plugin;
    if (p.kind() != kind) {
      if (p.name() == choice) {
        other_kind += "\n  " + p.path + " is a " + plugin_kind_name(p.kind()) + " plugin";
      }
      continue;
    }
    found += (found.empty() ? "" : ", ") + p.name() + " (" + p.path + ")";
    if (p.name() == choice) matches.push_back(&p);
  }
  if (matches.size() > 1) {
    std::string files;
    for (const auto* p : matches) files += "\n  " + p->path;
    return Status::FailedPrecondition("two or more " + kind_name + " plugins are named \"" +
                                      choice + "\"; remove all but one:" + files);
  }
  if (matches.size() == 1) return *matches.front();

  std::string m = "no " + kind_name + " plugin named \"" + choice + "\"";
  m += "; " + kind_name + " plugins found: " + (found.empty() ? "none" : found);
  m += "; looked in: " + describe_search(search_dirs_);
  if (!other_kind.empty()) m += "; of another kind:" + other_kind;
  if (!refused.empty()) m += "; refused:" + refused;
  return Status::NotFound(m);
}

Result<std::unique_ptr<BackendPlugin>> create_backend(const LoadedPlugin& plugin,
                                                      const PluginContext& context) {
  return call_factory<BackendPlugin>(plugin, PluginKind::kBackend,
                                     plugin.descriptor->create_backend, context);
}

Result<std::unique_ptr<TransportPlugin>> create_transport(const LoadedPlugin& plugin,
                                                          const PluginContext& context) {
  return call_factory<TransportPlugin>(plugin, PluginKind::kTransport,
                                       plugin.descriptor->create_transport, context);
}

Result<std::unique_ptr<AuthenticatorPlugin>> create_authenticator(const LoadedPlugin& plugin,
                                                                  const PluginContext& context) {
  return call_factory<AuthenticatorPlugin>(plugin, PluginKind::kAuthenticator,
                                           plugin.descriptor->create_authenticator, context);
}

Result<std::unique_ptr<WatchHubPlugin>> create_watch_hub(const LoadedPlugin& plugin,
                                                         const PluginContext& context) {
  return call_factory<WatchHubPlugin>(plugin, PluginKind::kWatchHub,
                                      plugin.descriptor->create_watch_hub, context);
}

}  // namespace keel::plugin_host
