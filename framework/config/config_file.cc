#include "config/config_file.h"

#include <fstream>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "keel/plugin.h"

namespace keel::config {
namespace {

namespace pt = boost::property_tree;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_plugin_kind(const std::string& name) {
  for (auto kind : {PluginKind::kBackend, PluginKind::kTransport, PluginKind::kAuthenticator,
                    PluginKind::kWatchHub}) {
    if (name == plugin_kind_name(kind)) return true;
  }
  return false;
}

// Flattens `tree` into dotted keys below `prefix`.
void flatten(const pt::ptree& tree, const std::string& prefix, std::map<std::string, std::string>* out) {
  for (const auto& [key, child] : tree) {
    std::string name = prefix.empty() ? key : prefix + "." + key;
    if (child.empty()) {
      (*out)[name] = child.data();
    } else {
      flatten(child, name, out);
    }
  }
}

Status leaf_values(const std::string& path, const std::string& section, const pt::ptree& tree,
                   std::map<std::string, std::string>* out) {
  for (const auto& [key, child] : tree) {
    if (!child.empty()) {
      return Status::InvalidArgument("config file " + path + ": [" + section + "] " + key +
                                     " must be a value, not a section");
    }
    (*out)[key] = child.data();
  }
  return Status::OK();
}

}  // namespace

Result<ConfigFile> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read config file " + path);
  pt::ptree root;
  try {
    if (ends_with(path, ".json")) {
      pt::read_json(in, root);
    } else {
      pt::read_ini(in, root);
    }
  } catch (const pt::file_parser_error& e) {
    return Status::InvalidArgument("config file " + path + " line " + std::to_string(e.line()) +
                                   ": " + e.message());
  }

  ConfigFile file;
  for (const auto& [section, tree] : root) {
    if (tree.empty()) {
      // A value where a section belongs: INI keys above every section, or {"backend": "x"}.
      return Status::InvalidArgument("config file " + path + ": \"" + section + "\" must be a section" +
                                     (is_plugin_kind(section) ? "; choose the " + section + " in [plugins]" : ""));
    }
    if (section == "member") {
      KEEL_RETURN_IF_ERROR(leaf_values(path, section, tree, &file.member));
    } else if (section == "plugins") {
      KEEL_RETURN_IF_ERROR(leaf_values(path, section, tree, &file.plugins));
      for (const auto& [key, value] : file.plugins) {
        if (key != "dir" && !is_plugin_kind(key)) {
          return Status::InvalidArgument("config file " + path + ": unknown key \"" + key +
                                         "\" in [plugins] (known: dir, backend, transport, "
                                         "authenticator, watch_hub)");
        }
      }
    } else if (size_t dot = section.find('.');
               dot != std::string::npos && is_plugin_kind(section.substr(0, dot))) {
      // INI: [backend.lmdb] is one section whose name holds the dot.
      std::map<std::string, std::string> values;
      flatten(tree, "", &values);
      file.plugin_configs[section] = PluginConfig(section, std::move(values));
    } else if (is_plugin_kind(section)) {
      // JSON: {"backend": {"lmdb": {...}}}.
      for (const auto& [name, subtree] : tree) {
        if (subtree.empty()) {
          return Status::InvalidArgument("config file " + path + ": settings under [" + section +
                                         "] belong to a plugin: [" + section + ".<plugin>] " + name);
        }
        std::map<std::string, std::string> values;
        flatten(subtree, "", &values);
        std::string full = section + "." + name;
        file.plugin_configs[full] = PluginConfig(full, std::move(values));
      }
    } else {
      return Status::InvalidArgument("config file " + path + ": unknown section \"" + section +
                                     "\" (known: member, plugins, and <kind>.<plugin> for the "
                                     "kinds backend, transport, authenticator, watch_hub)");
    }
  }
  return file;
}

}  // namespace keel::config
