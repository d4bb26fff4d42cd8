// The answer to a request gRPC could not parse. gRPC C++'s callback API answers it with
// UNIMPLEMENTED and no message, never calling the service; etcd (grpc-go) answers INTERNAL
// "grpc: error unmarshalling request: ...". A client must not take a bad payload for a method
// the server lacks, so this interceptor gives etcd's code and the start of its text. A method
// that parsed its request and is really unimplemented keeps UNIMPLEMENTED. KV's methods, served as
// raw calls, parse their requests themselves and give the same answer (raw_call.h); the factory
// makes no interceptor for them.
#ifndef KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_
#define KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace keel::grpcsvc {

// The message of etcd's INTERNAL answer to a request that does not parse.
inline constexpr char kUnparsedRequestText[] =
    "grpc: error unmarshalling request: the payload is not a valid protobuf message of the "
    "method's request type";

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> unparsed_request_interceptor();

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_
