#include "config/member_config.h"

#include <algorithm>

namespace keel::config {

bool operator==(const PluginConfigs& a, const PluginConfigs& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const auto& x, const auto& y) {
    return x.first == y.first && x.second.section() == y.second.section() &&
           x.second.values() == y.second.values();
  });
}

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
