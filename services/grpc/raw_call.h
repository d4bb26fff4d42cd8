// RawCall: a unary call served on gRPC's raw callback API (the request and the response as
// serialized bytes), for the methods on the hot path — KV's. Once any interceptor takes part in a
// call, gRPC runs its interception machinery on every batch of it: ~7,000 of keeld's ~86,000
// instructions per put, whatever the interceptors do (callgrind, 2026-12-02). A raw call does the
// interceptors' two jobs itself, so that no interceptor is made for it:
//   - a request that does not parse gets etcd's INTERNAL "grpc: error unmarshalling request: ..."
//     (unparsed_request_interceptor.h says why gRPC C++ would not give it);
//   - it counts itself in the request metrics (metrics_interceptor.h) as the interceptor would:
//     started, received once the request parses, sent with an OK answer, handled with the code.
//
// A RawCall is three pointers, copied into the callbacks that finish the call. Thread safety: one
// finish per call, from any thread.
#ifndef KEEL_SERVICES_GRPC_RAW_CALL_H_
#define KEEL_SERVICES_GRPC_RAW_CALL_H_

#include <google/protobuf/message_lite.h>
#include <grpcpp/grpcpp.h>

#include "grpc/metrics_interceptor.h"

namespace keel::grpcsvc {

// Whether `path` ("/etcdserverpb.KV/Put") is served as raw calls: the interceptor factories make
// nothing for it.
bool is_raw_method(const char* path);

class RawCall {
 public:
  // `measured`: the method's counters, or null when the server is not measured.
  RawCall(grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
          const GrpcMetrics::Method* measured);

  grpc::ServerUnaryReactor* reactor() const { return reactor_; }

  // Parses the request into *out; when it does not parse, finishes the call and returns false.
  bool parse(const grpc::ByteBuffer* request, google::protobuf::Message* out);
  // Finishes with OK and `response`.
  void finish(const google::protobuf::MessageLite& response);
  // Finishes with an error (not OK: a unary answer needs a message).
  void finish(const grpc::Status& status);

 private:
  void count_handled(grpc::StatusCode code) const;

  grpc::ServerUnaryReactor* reactor_;
  grpc::ByteBuffer* response_;
  const GrpcMetrics::Method* measured_;
};

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_RAW_CALL_H_
