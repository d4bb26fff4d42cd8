// A plugin for the host's tests built with another compiler and standard library.
#include "keel/plugin.h"

namespace {

[[maybe_unused]] keel::Result<std::unique_ptr<keel::BackendPlugin>> create(const keel::PluginContext&) {
  return keel::Status::Internal("never called: the host refuses this plugin first");
}
[[maybe_unused]] keel::Result<std::unique_ptr<keel::TransportPlugin>> create_transport(const keel::PluginContext&) {
  return keel::Status::Internal("never called: the host refuses this plugin first");
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const keel::PluginDescriptor* keel_plugin_descriptor() {
  static const keel::PluginDescriptor descriptor{::keel::kAbiVersion, sizeof(::keel::PluginDescriptor), ::keel::PluginKind::kBackend, "other-compiler", "1", "gcc 1; libstdc++ 1 cxx11abi=0", create, nullptr, nullptr, nullptr};
  return &descriptor;
}
