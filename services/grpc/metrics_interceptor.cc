// The interceptor behind GrpcMetrics: one per call, counting at the hook points gRPC offers.
#include "grpc/metrics_interceptor.h"

#include <google/protobuf/descriptor.h>

#include "grpc/raw_call.h"

namespace keel::grpcsvc {
namespace {

using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::ServerRpcInfo;

// go-grpc-prometheus's names for codes.Code.String().
constexpr const char* kCodeNames[kGrpcCodeCount] = {
    "OK",       "Canceled",           "Unknown",      "InvalidArgument", "DeadlineExceeded", "NotFound",
    "AlreadyExists", "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted",
    "OutOfRange", "Unimplemented",   "Internal",     "Unavailable",     "DataLoss",         "Unauthenticated"};

const char* type_name(ServerRpcInfo::Type type) {
  switch (type) {
    case ServerRpcInfo::Type::UNARY: return "unary";
    case ServerRpcInfo::Type::CLIENT_STREAMING: return "client_stream";
    case ServerRpcInfo::Type::SERVER_STREAMING: return "server_stream";
    case ServerRpcInfo::Type::BIDI_STREAMING: return "bidi_stream";
  }
  return "unary";
}

const char* type_name(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return "bidi_stream";
  if (client_streaming) return "client_stream";
  if (server_streaming) return "server_stream";
  return "unary";
}

class MetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit MetricsInterceptor(const GrpcMetrics::Method& m) : m_(m) {
    m_.started->inc();
    if (m_.open != nullptr) m_.open->inc();
  }
  ~MetricsInterceptor() override {
    if (!handled_) finish(grpc::StatusCode::CANCELLED);
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() != nullptr) {
      m_.received->inc();
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) m_.sent->inc();
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) && !handled_) {
      finish(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void finish(grpc::StatusCode code) {
    handled_ = true;
    m_.handled_with(code).inc();
    if (m_.open != nullptr) m_.open->dec();
  }

  const GrpcMetrics::Method& m_;
  bool handled_ = false;
};

class Factory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit Factory(GrpcMetrics& metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(ServerRpcInfo* info) override {
    if (is_raw_method(info->method())) return nullptr;
    return new MetricsInterceptor(metrics_.method(info->method(), info->type()));
  }

 private:
  GrpcMetrics& metrics_;
};

}  // namespace

GrpcMetrics::GrpcMetrics(metrics::Registry& registry, const std::vector<std::string>& services)
    : registry_(registry) {
  registry_.gauge("etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams.");
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* m = service->method(i);
      known_["/" + name + "/" + m->name()] =
          make(name, m->name(), type_name(m->client_streaming(), m->server_streaming()));
    }
  }
  // grpc.health.v1 is served by gRPC itself; its descriptor is not in the generated pool.
  known_["/grpc.health.v1.Health/Check"] = make("grpc.health.v1.Health", "Check", "unary");
  known_["/grpc.health.v1.Health/Watch"] = make("grpc.health.v1.Health", "Watch", "server_stream");
}

GrpcMetrics::Method GrpcMetrics::make(const std::string& service, const std::string& method,
                                      const char* type) {
  static const std::vector<std::string> kLabels = {"grpc_method", "grpc_service", "grpc_type"};
  static const std::vector<std::string> kCodeLabels = {"grpc_code", "grpc_method", "grpc_service", "grpc_type"};
  Method m;
  m.started = &registry_.counter_family("grpc_server_started_total",
                                        "Total number of RPCs started on the server.", kLabels)
                   .with({method, service, type});
  m.received = &registry_.counter_family("grpc_server_msg_received_total",
                                         "Total number of RPC stream messages received on the server.", kLabels)
                    .with({method, service, type});
  m.sent = &registry_.counter_family("grpc_server_msg_sent_total",
                                     "Total number of gRPC stream messages sent by the server.", kLabels)
                .with({method, service, type});
  metrics::Family<metrics::Counter>& handled = registry_.counter_family(
      "grpc_server_handled_total",
      "Total number of RPCs completed on the server, regardless of success or failure.", kCodeLabels);
  for (size_t c = 0; c < kGrpcCodeCount; ++c) m.handled[c] = &handled.with({kCodeNames[c], method, service, type});
  if (service == "etcdserverpb.Watch" && method == "Watch") {
    m.open = &registry_.gauge("etcd_debugging_mvcc_watch_stream_total", "Total number of watch streams.");
  }
  return m;
}

const GrpcMetrics::Method& GrpcMetrics::method(const char* path, ServerRpcInfo::Type type) {
  std::string key(path != nullptr ? path : "");
  auto it = known_.find(key);
  if (it != known_.end()) return it->second;
  const char* kind = type_name(type);
  std::lock_guard<std::mutex> lock(mu_);
  std::unique_ptr<Method>& m = unknown_[kind];
  if (m == nullptr) m = std::make_unique<Method>(make("unknown", "unknown", kind));
  return *m;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> GrpcMetrics::factory() {
  return std::make_unique<Factory>(*this);
}

}  // namespace keel::grpcsvc
