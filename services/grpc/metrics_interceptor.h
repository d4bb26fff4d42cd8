// gRPC request metrics with go-grpc-prometheus's names, as etcd exports them:
//
//   grpc_server_started_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}
//   grpc_server_msg_received_total{grpc_type,grpc_service,grpc_method}
//   grpc_server_msg_sent_total{grpc_type,grpc_service,grpc_method}
//   etcd_debugging_mvcc_watch_stream_total  (open Watch streams: one hub stream per gRPC stream)
//
// Counted by a server interceptor (gRPC's experimental interceptor API): started when the call's
// interceptor is made, a message received per message the handler gets, a message sent per
// message written, handled with the status the server sends (Canceled when the call ends
// without one: the client went away). As go-grpc-prometheus's InitializeMetrics does, every
// method of the registered services starts at zero with every code, so a scrape shows them all
// before their first call; a method's counters are found without a lock on the call path.
//
// KV's methods are served as raw calls, which count themselves the same way (raw_call.h): the
// factory makes no interceptor for them.
//
// Thread safety: the interceptors run on gRPC's threads; GrpcMetrics is immutable once made.
#ifndef KEEL_SERVICES_GRPC_METRICS_INTERCEPTOR_H_
#define KEEL_SERVICES_GRPC_METRICS_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>
#include <grpcpp/support/status.h>

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "metrics/metrics.h"

namespace keel::grpcsvc {

// gRPC's 17 status codes, OK = 0 to UNAUTHENTICATED = 16.
inline constexpr size_t kGrpcCodeCount = 17;

class GrpcMetrics {
 public:
  // `services`: full names of the protobuf services served ("etcdserverpb.KV", ...), looked up
  // in the generated descriptor pool for their methods; grpc.health.v1.Health is added.
  GrpcMetrics(metrics::Registry& registry, const std::vector<std::string>& services);

  struct Method {
    metrics::Counter* started = nullptr;
    metrics::Counter* received = nullptr;
    metrics::Counter* sent = nullptr;
    std::array<metrics::Counter*, kGrpcCodeCount> handled{};
    metrics::Gauge* open = nullptr;  // Watch only

    // The handled counter of `code` (a code beyond gRPC's counts as UNKNOWN).
    metrics::Counter& handled_with(grpc::StatusCode code) const {
      const size_t i = static_cast<size_t>(code);
      return *handled[i < kGrpcCodeCount ? i : static_cast<size_t>(grpc::StatusCode::UNKNOWN)];
    }
  };
  // The counters of "/package.Service/Method". Every path not served (a client's own invention)
  // is counted under service and method "unknown": a path per label would let any client grow
  // the registry without bound.
  const Method& method(const char* path, grpc::experimental::ServerRpcInfo::Type type);

  // The interceptor factory to hand to grpc::ServerBuilder; it refers to *this.
  std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> factory();

 private:
  Method make(const std::string& service, const std::string& method, const char* type);

  metrics::Registry& registry_;
  std::unordered_map<std::string, Method> known_;  // by path; immutable after construction
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Method>> unknown_;  // by grpc_type
};

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_METRICS_INTERCEPTOR_H_
