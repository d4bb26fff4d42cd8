// The answer to a request gRPC could not parse. gRPC C++'s callback API answers it with
// UNIMPLEMENTED and no message, never calling the service; etcd (grpc-go) answers INTERNAL
// "grpc: error unmarshalling request: ...". A client must not take a bad payload for a method
// the server lacks, so this interceptor gives etcd's code and the start of its text. A method
// that parsed its request and is really unimplemented keeps UNIMPLEMENTED.
#ifndef KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_
#define KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace keel::grpcsvc {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> unparsed_request_interceptor();

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_UNPARSED_REQUEST_INTERCEPTOR_H_
