#include "plugin_host/plugin_library.h"

#include <dlfcn.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <vector>

#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>

namespace keel::plugin_host {
namespace {

// Plugins are never unloaded (code they made may be referenced until exit), so the libraries live
// in a registry that is never destroyed.
void keep_loaded(boost::dll::shared_library library) {
  static std::mutex* mu = new std::mutex;
  static auto* libraries = new std::vector<boost::dll::shared_library>;
  std::lock_guard<std::mutex> lock(*mu);
  libraries->push_back(std::move(library));
}

bool factory_set(const PluginDescriptor& d) {
  switch (d.kind) {
    case PluginKind::kBackend: return d.create_backend != nullptr;
    case PluginKind::kTransport: return d.create_transport != nullptr;
    case PluginKind::kAuthenticator: return d.create_authenticator != nullptr;
    case PluginKind::kWatchHub: return d.create_watch_hub != nullptr;
  }
  return false;
}

}  // namespace

Result<LoadedPlugin> load_plugin_file(const std::string& path) {
  boost::system::error_code ec;
  if (!boost::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound("plugin file " + path + " does not exist");
  }
  boost::dll::shared_library library;
  library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    const char* why = dlerror();
    return Status::InvalidArgument("cannot load plugin file " + path + ": " +
                                   (why != nullptr ? why : ec.message()));
  }
  if (!library.has(kDescriptorSymbol)) {
    return Status::InvalidArgument(path + " is not a keel plugin: it exports no " +
                                   kDescriptorSymbol + "()");
  }
  auto entry = library.get<const PluginDescriptor*()>(kDescriptorSymbol);
  const PluginDescriptor* d = entry();
  if (d == nullptr) {
    return Status::InvalidArgument(path + " is not a keel plugin: " + kDescriptorSymbol +
                                   "() returned no descriptor");
  }
  if (d->abi_version != kAbiVersion) {
    return Status::FailedPrecondition(path + " was built for keel plugin ABI version " +
                                      std::to_string(d->abi_version) + ", but this keel expects " +
                                      std::to_string(kAbiVersion) +
                                      ": rebuild the plugin against this keel's headers");
  }
  if (d->struct_size != sizeof(PluginDescriptor)) {
    return Status::FailedPrecondition(path + " has a plugin descriptor of " +
                                      std::to_string(d->struct_size) + " bytes, but ABI version " +
                                      std::to_string(kAbiVersion) + " has " +
                                      std::to_string(sizeof(PluginDescriptor)) + " bytes");
  }
  const char* identity = d->build_identity != nullptr ? d->build_identity : "";
  if (std::strcmp(identity, KEEL_BUILD_IDENTITY) != 0) {
    return Status::FailedPrecondition(path + " was built with \"" + identity +
                                      "\", but this keel with \"" KEEL_BUILD_IDENTITY
                                      "\": rebuild the plugin with the same compiler and "
                                      "standard library");
  }
  const char* kind = plugin_kind_name(d->kind);
  if (kind == nullptr) {
    return Status::InvalidArgument(path + " declares an unknown plugin kind " +
                                   std::to_string(static_cast<uint32_t>(d->kind)) +
                                   " (known: backend, transport, authenticator, watch_hub)");
  }
  if (!factory_set(*d)) {
    return Status::InvalidArgument(path + " declares kind " + kind + " but has no " + kind +
                                   " factory");
  }
  if (d->name == nullptr || d->name[0] == '\0') {
    return Status::InvalidArgument(path + " declares a " + kind + " plugin with no name");
  }
  if (d->plugin_version == nullptr) {
    return Status::InvalidArgument(path + " declares no plugin version");
  }
  keep_loaded(std::move(library));
  return LoadedPlugin{path, d};
}

}  // namespace keel::plugin_host
