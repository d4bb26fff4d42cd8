// Reading keeld's config file (--config FILE): INI, or JSON when the name ends in ".json".
//
//   [plugins]                 ; which engine of each kind, and an extra folder to find them in
//   dir = /opt/keel/plugins
//   backend = lmdb            ; a plugin name, or the path of a .so file
//   transport = grpc
//   authenticator = simple
//   watch_hub = default
//   [member]                  ; any etcd server flag, by its name without the dashes
//   name = infra1
//   data-dir = /var/lib/keel
//   [backend.lmdb]            ; a plugin's own settings: [<kind>.<name>]
//   map_size = 8GiB
//
// In JSON the same tree: {"plugins": {...}, "member": {...}, "backend": {"lmdb": {...}}}.
#ifndef KEEL_CONFIG_CONFIG_FILE_H_
#define KEEL_CONFIG_CONFIG_FILE_H_

#include <map>
#include <string>

#include "keel/plugin_config.h"
#include "keel/status.h"

namespace keel::config {

struct ConfigFile {
  std::map<std::string, std::string> member;   // flag name -> value
  std::map<std::string, std::string> plugins;  // "dir", "backend", "transport", ...
  std::map<std::string, PluginConfig> plugin_configs;  // "backend.lmdb" -> its settings
};

// InvalidArgument naming the file (and the line, where the parser knows it) for a file that cannot
// be read or parsed, an unknown section, or an unknown key under [plugins].
Result<ConfigFile> read_config_file(const std::string& path);

}  // namespace keel::config

#endif  // KEEL_CONFIG_CONFIG_FILE_H_
