// Plugins the host must refuse, one source built once per case (REFUSED_CASE picks it). Each writes
// its descriptor by hand, as a plugin built against other headers or by another compiler would.
#include "keel/plugin.h"

namespace {

[[maybe_unused]] keel::Result<std::unique_ptr<keel::BackendPlugin>> create(const keel::PluginContext&) {
  return keel::Status::Internal("never called: the host refuses this plugin first");
}
[[maybe_unused]] keel::Result<std::unique_ptr<keel::TransportPlugin>> create_transport(
    const keel::PluginContext&) {
  return keel::Status::Internal("never called: the host refuses this plugin first");
}

constexpr uint32_t kSize = sizeof(keel::PluginDescriptor);
using keel::kAbiVersion;
using keel::PluginKind;

}  // namespace

extern "C" __attribute__((visibility("default"))) const keel::PluginDescriptor* keel_plugin_descriptor() {
  static const keel::PluginDescriptor descriptor{
#if REFUSED_CASE == 1  // built for another ABI version
      kAbiVersion + 1, kSize, PluginKind::kBackend, "old-abi", "1", KEEL_BUILD_IDENTITY, create, nullptr, nullptr, nullptr
#elif REFUSED_CASE == 2  // of a kind keel does not know
      kAbiVersion, kSize, static_cast<PluginKind>(99), "odd-kind", "1", KEEL_BUILD_IDENTITY, create, nullptr, nullptr, nullptr
#elif REFUSED_CASE == 3  // built with another compiler and standard library
      kAbiVersion, kSize, PluginKind::kBackend, "other-compiler", "1", "gcc 1; libstdc++ 1 cxx11abi=0", create, nullptr, nullptr, nullptr
#elif REFUSED_CASE == 4  // declares a backend but sets only a transport factory
      kAbiVersion, kSize, PluginKind::kBackend, "no-factory", "1", KEEL_BUILD_IDENTITY, nullptr, create_transport, nullptr, nullptr
#else
#error "REFUSED_CASE must be 1 to 4"
#endif
  };
  return &descriptor;
}
