// The client-facing gRPC server: etcd's limits on message size, streams and keepalive, the
// request metrics interceptor, and connections handed over by the client URLs' listener.
#include <absl/synchronization/mutex.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/server_posix.h>
#include <unistd.h>

#include "grpc/metrics_interceptor.h"
#include "grpc/unparsed_request_interceptor.h"
#include "grpc/services.h"

namespace keel::grpcsvc {

// etcd's grpcOverheadBytes: the server takes max-request-bytes plus this much for framing.
constexpr uint64_t kGrpcOverheadBytes = 512 * 1024;

ClientServer::ClientServer(server::Node& node)
    : kv_(node),
      watch_(node),
      lease_(node),
      maintenance_(node),
      cluster_(node),
      unknown_({etcdserverpb::KV::service_full_name(), etcdserverpb::Watch::service_full_name(),
                etcdserverpb::Lease::service_full_name(), etcdserverpb::Maintenance::service_full_name(),
                etcdserverpb::Cluster::service_full_name(), "grpc.health.v1.Health"}) {}

ClientServer::~ClientServer() { shutdown(); }

Result<std::unique_ptr<ClientServer>> ClientServer::start(server::Node& node,
                                                          const ClientServerOptions& options) {
  // Debian's abseil is built with its debug checks on: every absl::Mutex gRPC locks is entered
  // in a process-wide lock-order graph, under one global lock, to detect deadlocks — a few
  // percent of keeld's CPU under load (GraphCycles in perf profiles) and a point every gRPC
  // thread serializes on. The check is for absl's own tests, not a server's hot path.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::unique_ptr<ClientServer> s(new ClientServer(node));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_request_bytes + kGrpcOverheadBytes));
  builder.SetMaxSendMessageSize(INT32_MAX);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(std::min<uint32_t>(options.max_concurrent_streams, INT32_MAX)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             options.keepalive_min_time_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, options.keepalive_interval_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, options.keepalive_timeout_ms);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.RegisterService(&s->kv_);
  builder.RegisterService(&s->watch_);
  builder.RegisterService(&s->lease_);
  builder.RegisterService(&s->maintenance_);
  builder.RegisterService(&s->cluster_);
  builder.RegisterCallbackGenericService(&s->unknown_);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  // First, so that the metrics count the code the client gets.
  interceptors.push_back(unparsed_request_interceptor());
  if (options.registry != nullptr) {
    s->metrics_ = std::make_unique<GrpcMetrics>(
        *options.registry,
        std::vector<std::string>{etcdserverpb::KV::service_full_name(), etcdserverpb::Watch::service_full_name(),
                                 etcdserverpb::Lease::service_full_name(),
                                 etcdserverpb::Maintenance::service_full_name(),
                                 etcdserverpb::Cluster::service_full_name()});
    interceptors.push_back(s->metrics_->factory());
    s->kv_.measure(*s->metrics_);
  }
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr) return Status::Unavailable("cannot serve clients: the gRPC server did not start");
  s->accepting_ = true;
  s->set_serving(false);
  return s;
}

void ClientServer::adopt(int fd) {
  std::lock_guard<std::mutex> lock(adopt_mu_);
  if (!accepting_) {
    ::close(fd);
    return;
  }
  grpc::AddInsecureChannelFromFd(server_.get(), fd);
}

void ClientServer::set_serving(bool serving) {
  if (server_ == nullptr) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health != nullptr) health->SetServingStatus(serving);
  serving_ = serving;
}

void ClientServer::shutdown() {
  {
    std::lock_guard<std::mutex> lock(adopt_mu_);
    accepting_ = false;
  }
  if (server_ == nullptr) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

}  // namespace keel::grpcsvc
