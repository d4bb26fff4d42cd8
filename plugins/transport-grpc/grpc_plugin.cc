// The transport-grpc plugin's entry point: reads its settings and starts GrpcTransports.
#include "grpc_transport.h"
#include "keel/plugin.h"

namespace keel::grpc_transport {
namespace {

class GrpcTransportPlugin : public TransportPlugin {
 public:
  GrpcTransportPlugin(Settings settings, Logger& logger) : settings_(settings), logger_(logger) {}

  Result<std::unique_ptr<Transport>> start(const TransportOptions& options) override {
    return status_from_exceptions("transport-grpc", "start", [&] {
      return GrpcTransport::start(options, settings_, logger_);
    });
  }

 private:
  const Settings settings_;
  Logger& logger_;
};

Result<std::unique_ptr<TransportPlugin>> create_plugin(const PluginContext& context) {
  const PluginConfig& config = context.config;
  KEEL_RETURN_IF_ERROR(
      config.check_known_keys({"snapshot_chunk_bytes", "max_snapshots", "batch_bytes"}));
  Settings s;
  Result<uint64_t> chunk = config.get_size("snapshot_chunk_bytes", s.snapshot_chunk_bytes);
  if (!chunk.ok()) return chunk.status();
  Result<uint64_t> snapshots = config.get_size("max_snapshots", s.max_snapshots);
  if (!snapshots.ok()) return snapshots.status();
  Result<uint64_t> batch = config.get_size("batch_bytes", s.batch_bytes);
  if (!batch.ok()) return batch.status();
  if (*chunk < 1024 || *chunk > (64u << 20)) {
    return Status::InvalidArgument(config.section() +
                                   ".snapshot_chunk_bytes: expected 1KiB to 64MiB");
  }
  if (*snapshots < 1 || *snapshots > 64) {
    return Status::InvalidArgument(config.section() + ".max_snapshots: expected 1 to 64");
  }
  if (*batch < 1) return Status::InvalidArgument(config.section() + ".batch_bytes: expected > 0");
  s.snapshot_chunk_bytes = *chunk;
  s.max_snapshots = *snapshots;
  s.batch_bytes = *batch;
  return std::unique_ptr<TransportPlugin>(new GrpcTransportPlugin(s, context.logger));
}

}  // namespace
}  // namespace keel::grpc_transport

KEEL_TRANSPORT_PLUGIN("grpc", "0.1.0", keel::grpc_transport::create_plugin)
