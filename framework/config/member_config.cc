#include "config/member_config.h"

namespace keel::config {

const std::string& MemberConfig::plugin_choice(PluginKind kind) const {
  switch (kind) {
    case PluginKind::kBackend: return backend;
    case PluginKind::kTransport: return transport;
    case PluginKind::kAuthenticator: return authenticator;
    case PluginKind::kWatchHub: return watch_hub;
  }
  return backend;
}

PluginConfig MemberConfig::plugin_config(PluginKind kind, const std::string& name) const {
  std::string section = std::string(plugin_kind_name(kind)) + "." + name;
  auto it = plugin_configs.find(section);
  return it != plugin_configs.end() ? it->second : PluginConfig(section);
}

int64_t MemberConfig::effective_quota_backend_bytes() const {
  return quota_backend_bytes == 0 ? int64_t{2} << 30 : quota_backend_bytes;
}

}  // namespace keel::config
