// framework/plugin_host: finds, loads and checks the plugins a member runs with, and makes their
// engines through their factories. Plugins are loaded at start-up and never unloaded.
//
// A plugin choice in the config is either a name ("lmdb"), looked up among the plugins of that
// kind found in the search path, or the path of a .so file (it contains a '/'), loaded as is.
//
// Thread safety: a PluginHost is used from one thread (start-up); the engines it makes are
// thread-safe as their headers say.
#ifndef KEEL_PLUGIN_HOST_PLUGIN_HOST_H_
#define KEEL_PLUGIN_HOST_PLUGIN_HOST_H_

#include <memory>
#include <string>
#include <vector>

#include "keel/plugin.h"
#include "keel/status.h"
#include "plugin_host/plugin_library.h"
#include "plugin_host/plugin_search_path.h"

namespace keel::plugin_host {

// One file seen in a search folder: loaded and checked, or refused and why.
struct PluginCandidate {
  std::string path;
  Result<LoadedPlugin> plugin;
};

class PluginHost {
 public:
  // Folders in search order; see plugin_search_path.h.
  explicit PluginHost(std::vector<std::string> search_dirs);

  const std::vector<std::string>& search_dirs() const { return search_dirs_; }

  // Every *.so file in the search folders, in search order then by file name, each loaded and
  // checked. Folders are read once; later calls return the same list.
  const std::vector<PluginCandidate>& scan();

  // The plugin of `kind` that `choice` names (a name, or a path to a .so file). Refuses, naming
  // files and what was expected: a missing or unloadable file, a file that is no keel plugin or
  // fails the ABI or build checks, a plugin of another kind, two plugins of this kind with this
  // name, and a name no plugin has (listing the plugins found and the folders looked in).
  Result<LoadedPlugin> resolve(PluginKind kind, const std::string& choice);

 private:
  std::vector<std::string> search_dirs_;
  bool scanned_ = false;
  std::vector<PluginCandidate> candidates_;
};

// The factories, typed. REQUIRES: plugin.kind() is the kind the function makes.
Result<std::unique_ptr<BackendPlugin>> create_backend(const LoadedPlugin& plugin,
                                                      const PluginContext& context);
Result<std::unique_ptr<TransportPlugin>> create_transport(const LoadedPlugin& plugin,
                                                          const PluginContext& context);
Result<std::unique_ptr<AuthenticatorPlugin>> create_authenticator(const LoadedPlugin& plugin,
                                                                  const PluginContext& context);
Result<std::unique_ptr<WatchHubPlugin>> create_watch_hub(const LoadedPlugin& plugin,
                                                         const PluginContext& context);

}  // namespace keel::plugin_host

#endif  // KEEL_PLUGIN_HOST_PLUGIN_HOST_H_
