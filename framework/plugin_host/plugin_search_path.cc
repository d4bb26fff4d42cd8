#include "plugin_host/plugin_search_path.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem/path.hpp>

namespace keel::plugin_host {

std::vector<std::string> plugin_search_path(const std::string& plugin_dir,
                                            const std::string& env_path,
                                            const std::string& install_dir) {
  std::vector<std::string> dirs;
  // "/a/b/", "/a/./b" and "/a/b" are one folder: naming it twice must not make every plugin in
  // it a duplicate of itself.
  auto add = [&dirs](const std::string& given) {
    if (given.empty()) return;
    std::string dir = boost::filesystem::path(given).lexically_normal().string();
    while (dir.size() > 1 && (dir.back() == '/' || (dir.size() > 2 && dir.compare(dir.size() - 2, 2, "/.") == 0))) {
      dir.resize(dir.back() == '/' ? dir.size() - 1 : dir.size() - 2);
    }
    if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
  };
  add(plugin_dir);
  std::stringstream env(env_path);
  for (std::string dir; std::getline(env, dir, ':');) add(dir);
  add(install_dir);
  return dirs;
}

std::string installed_plugin_dir() {
  boost::system::error_code ec;
  boost::dll::fs::path exe = boost::dll::program_location(ec);
  if (ec) return "";
  return (exe.parent_path() / KEEL_BIN_TO_PLUGINS).lexically_normal().string();
}

std::vector<std::string> default_plugin_search_path(const std::string& plugin_dir) {
  const char* env = std::getenv("KEEL_PLUGIN_PATH");
  return plugin_search_path(plugin_dir, env != nullptr ? env : "", installed_plugin_dir());
}

}  // namespace keel::plugin_host
