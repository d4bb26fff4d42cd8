// Opening one plugin file and checking its descriptor before anything in it is called.
#ifndef KEEL_PLUGIN_HOST_PLUGIN_LIBRARY_H_
#define KEEL_PLUGIN_HOST_PLUGIN_LIBRARY_H_

#include <string>

#include "keel/plugin.h"
#include "keel/status.h"

namespace keel::plugin_host {

// A plugin whose descriptor passed every check. The library behind it stays loaded for the life of
// the process, so `descriptor` and every factory it names stay valid.
struct LoadedPlugin {
  std::string path;
  const PluginDescriptor* descriptor = nullptr;

  PluginKind kind() const { return descriptor->kind; }
  std::string name() const { return descriptor->name; }
  std::string version() const { return descriptor->plugin_version; }
};

// Loads the shared object at `path` (never unloaded) and checks, in this order: the file exists
// and loads; it exports keel_plugin_descriptor; the descriptor's ABI version and size are this
// host's; it was built with this host's compiler and standard library; its kind is known and its
// factory for that kind is set; it has a name. Every refusal names the file and what was expected.
Result<LoadedPlugin> load_plugin_file(const std::string& path);

}  // namespace keel::plugin_host

#endif  // KEEL_PLUGIN_HOST_PLUGIN_LIBRARY_H_
