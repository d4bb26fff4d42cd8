// keel's plugin ABI: what a plugin .so exports and how the host checks it before calling anything.
//
// A plugin is a shared object exporting one C function, `keel_plugin_descriptor`, which returns a
// static PluginDescriptor. The host reads abi_version and struct_size first (their place never
// changes), refuses a plugin whose ABI version or build identity differs from its own, checks the
// kind and name, and only then calls the one factory the kind says is set. Plugins are loaded at
// start-up and never unloaded, so nothing made by a plugin outlives its code.
//
// Writing one:
//
//   #include "keel/plugin.h"
//   keel::Result<std::unique_ptr<keel::BackendPlugin>> create_counting(const keel::PluginContext& c);
//   KEEL_BACKEND_PLUGIN("counting", "1.0.0", create_counting)
//
// Build it with -fvisibility=hidden (keel_add_plugin does), so the descriptor is its only export.
// The factory is an ordinary function: tests link the same source statically and call it.
//
// kAbiVersion rises whenever a type in framework/include/keel/ changes in a way that breaks a
// plugin built against the previous headers: any change to an interface a plugin implements
// (Backend, BackendReadTx, BackendCursor, Transport, Authenticator, WatchHub, WatchStream and the
// *Plugin engines: an old plugin's vtable has no slot for a new virtual, default body or not), or
// to a struct's layout. Only interfaces keel implements and plugins call (Logger, Clock,
// ByteSink, ByteSource, TransportHandler, WatchSink, EventHistory) may grow a virtual, appended
// last, without raising it.
//
// No exception may leave a plugin: factories and every method of the interfaces return Status.
// The host still catches what a factory throws and refuses the plugin, naming it.
#ifndef KEEL_PLUGIN_H_
#define KEEL_PLUGIN_H_

#include <cstdint>
#include <memory>

#include "keel/authenticator.h"
#include "keel/backend.h"
#include "keel/clock.h"
#include "keel/logger.h"
#include "keel/plugin_config.h"
#include "keel/status.h"
#include "keel/transport.h"
#include "keel/watch_hub.h"

namespace keel {

// 2: WatchHub::stats(). 3: Transport lanes, queue bytes, listen_urls().
inline constexpr uint32_t kAbiVersion = 4;

enum class PluginKind : uint32_t {
  kBackend = 1,
  kTransport = 2,
  kAuthenticator = 3,
  kWatchHub = 4,
};

// "backend", "transport", "authenticator", "watch_hub" (the config file's keys), or nullptr for a
// value that is not a kind.
inline const char* plugin_kind_name(PluginKind kind) {
  switch (kind) {
    case PluginKind::kBackend: return "backend";
    case PluginKind::kTransport: return "transport";
    case PluginKind::kAuthenticator: return "authenticator";
    case PluginKind::kWatchHub: return "watch_hub";
  }
  return nullptr;
}

// What the host hands a plugin's factory. Everything referenced outlives every object the plugin
// makes.
struct PluginContext {
  const PluginConfig& config;  // the plugin's own subtree of the config file
  Logger& logger;
};

using BackendFactory = Result<std::unique_ptr<BackendPlugin>> (*)(const PluginContext&);
using TransportFactory = Result<std::unique_ptr<TransportPlugin>> (*)(const PluginContext&);
using AuthenticatorFactory = Result<std::unique_ptr<AuthenticatorPlugin>> (*)(const PluginContext&);
using WatchHubFactory = Result<std::unique_ptr<WatchHubPlugin>> (*)(const PluginContext&);

struct PluginDescriptor {
  // These two first, always: the host reads them before trusting anything else.
  uint32_t abi_version;
  uint32_t struct_size;  // sizeof(PluginDescriptor) as the plugin was compiled
  PluginKind kind;
  const char* name;            // e.g. "lmdb": unique within its kind
  const char* plugin_version;  // the plugin's own version, e.g. "0.1.0"
  const char* build_identity;  // KEEL_BUILD_IDENTITY as the plugin was compiled
  // Exactly the one factory matching `kind` is set.
  BackendFactory create_backend;
  TransportFactory create_transport;
  AuthenticatorFactory create_authenticator;
  WatchHubFactory create_watch_hub;
};

// The name of the one symbol a plugin exports.
inline constexpr const char* kDescriptorSymbol = "keel_plugin_descriptor";

}  // namespace keel

// The compiler and standard library a translation unit is built with. Host and plugin must agree:
// std::string, std::unique_ptr and friends cross the boundary, and only one C++ runtime may run.
#define KEEL_STRINGIFY_(x) #x
#define KEEL_STRINGIFY(x) KEEL_STRINGIFY_(x)
#if defined(__clang__)
#define KEEL_COMPILER_ID "clang " KEEL_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define KEEL_COMPILER_ID "gcc " KEEL_STRINGIFY(__GNUC__)
#else
#define KEEL_COMPILER_ID "unknown-compiler"
#endif
#if defined(_LIBCPP_VERSION)
#define KEEL_STDLIB_ID "libc++ " KEEL_STRINGIFY(_LIBCPP_VERSION)
#elif defined(_GLIBCXX_RELEASE)
#define KEEL_STDLIB_ID \
  "libstdc++ " KEEL_STRINGIFY(_GLIBCXX_RELEASE) " cxx11abi=" KEEL_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#else
#define KEEL_STDLIB_ID "unknown-stdlib"
#endif
// Debug mode changes the standard containers' layout.
#if defined(_GLIBCXX_DEBUG)
#define KEEL_STDLIB_MODE " debug"
#else
#define KEEL_STDLIB_MODE ""
#endif
#define KEEL_BUILD_IDENTITY KEEL_COMPILER_ID "; " KEEL_STDLIB_ID KEEL_STDLIB_MODE

// The export: default visibility (what Boost.DLL's BOOST_SYMBOL_EXPORT means on GCC and Clang),
// spelled out so a plugin needs no Boost header; the host loads it with Boost.DLL.
#define KEEL_DEFINE_PLUGIN_(kind_, name_, version_, backend_, transport_, auth_, hub_)           \
  extern "C" __attribute__((visibility("default"))) const ::keel::PluginDescriptor*             \
  keel_plugin_descriptor() {                                                                   \
    static const ::keel::PluginDescriptor descriptor{                                          \
        ::keel::kAbiVersion, sizeof(::keel::PluginDescriptor), kind_, name_, version_,          \
        KEEL_BUILD_IDENTITY, backend_, transport_, auth_, hub_};                                \
    return &descriptor;                                                                        \
  }

#define KEEL_BACKEND_PLUGIN(name, version, factory) \
  KEEL_DEFINE_PLUGIN_(::keel::PluginKind::kBackend, name, version, factory, nullptr, nullptr, nullptr)
#define KEEL_TRANSPORT_PLUGIN(name, version, factory) \
  KEEL_DEFINE_PLUGIN_(::keel::PluginKind::kTransport, name, version, nullptr, factory, nullptr, nullptr)
#define KEEL_AUTHENTICATOR_PLUGIN(name, version, factory) \
  KEEL_DEFINE_PLUGIN_(::keel::PluginKind::kAuthenticator, name, version, nullptr, nullptr, factory, nullptr)
#define KEEL_WATCH_HUB_PLUGIN(name, version, factory) \
  KEEL_DEFINE_PLUGIN_(::keel::PluginKind::kWatchHub, name, version, nullptr, nullptr, nullptr, factory)

#endif  // KEEL_PLUGIN_H_
