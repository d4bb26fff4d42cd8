// transport-tcp's entry point: the factory keeld finds through the plugin descriptor.
#include "keel/plugin.h"
#include "tcp_transport.h"

namespace keel::tcp {
namespace {

class TcpTransportPlugin : public TransportPlugin {
 public:
  TcpTransportPlugin(Logger& logger, TcpSettings settings) : logger_(logger), settings_(settings) {}

  Result<std::unique_ptr<Transport>> start(const TransportOptions& options) override {
    if (options.handler == nullptr) return Status::InvalidArgument("transport-tcp: no handler");
    if (options.tls.enabled()) return Status::NotSupported("peer TLS is not served yet by transport-tcp");
    return status_from_exceptions("transport-tcp", "start",
                                  [&] { return TcpTransport::start(options, logger_, settings_); });
  }

 private:
  Logger& logger_;
  const TcpSettings settings_;
};

Result<std::unique_ptr<TransportPlugin>> create_plugin(const PluginContext& context) {
  const PluginConfig& config = context.config;
  KEEL_RETURN_IF_ERROR(config.check_known_keys({"io_threads", "max_inbound_snapshots"}));
  Result<uint64_t> io_threads = config.get_size("io_threads", 2);
  if (!io_threads.ok()) return io_threads.status();
  if (*io_threads < 1 || *io_threads > 16) {
    return Status::InvalidArgument(config.section() + ".io_threads must be from 1 to 16");
  }
  Result<uint64_t> snapshots = config.get_size("max_inbound_snapshots", 4);
  if (!snapshots.ok()) return snapshots.status();
  if (*snapshots < 1 || *snapshots > 64) {
    return Status::InvalidArgument(config.section() + ".max_inbound_snapshots must be from 1 to 64");
  }
  TcpSettings settings;
  settings.io_threads = *io_threads;
  settings.max_inbound_snapshots = *snapshots;
  return std::unique_ptr<TransportPlugin>(new TcpTransportPlugin(context.logger, settings));
}

}  // namespace
}  // namespace keel::tcp

KEEL_TRANSPORT_PLUGIN("tcp", "0.1.0", keel::tcp::create_plugin)
