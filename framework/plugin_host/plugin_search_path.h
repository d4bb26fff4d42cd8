// Where plugins are looked for: the config's plugin_dir, then $KEEL_PLUGIN_PATH (a ':'-separated
// list), then the install's lib/keel/plugins (found from the running executable, so the build
// tree, laid out like the install, works too).
#ifndef KEEL_PLUGIN_HOST_PLUGIN_SEARCH_PATH_H_
#define KEEL_PLUGIN_HOST_PLUGIN_SEARCH_PATH_H_

#include <string>
#include <vector>

namespace keel::plugin_host {

// `env_path` is $KEEL_PLUGIN_PATH's value (empty if unset); `install_dir` the install's plugin
// folder. Empty entries are skipped, and a folder named twice is kept at its first place.
std::vector<std::string> plugin_search_path(const std::string& plugin_dir,
                                            const std::string& env_path,
                                            const std::string& install_dir);

// The search path for this process: reads $KEEL_PLUGIN_PATH and locates the install folder
// (<dir of the executable>/../lib/keel/plugins, as the install lays it out).
std::vector<std::string> default_plugin_search_path(const std::string& plugin_dir);

std::string installed_plugin_dir();

}  // namespace keel::plugin_host

#endif  // KEEL_PLUGIN_HOST_PLUGIN_SEARCH_PATH_H_
