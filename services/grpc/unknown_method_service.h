// The answer to a call of a method nobody serves. gRPC C++ answers UNIMPLEMENTED with no message;
// etcd (grpc-go) names what is missing: "unknown service etcdserverpb.Auth", "unknown method Nope
// for service etcdserverpb.KV", "malformed method name: ...". Clients and operators read these
// texts, so this generic service, which gRPC hands every call no service registered, gives them.
#ifndef KEEL_SERVICES_GRPC_UNKNOWN_METHOD_SERVICE_H_
#define KEEL_SERVICES_GRPC_UNKNOWN_METHOD_SERVICE_H_

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <set>
#include <string>
#include <string_view>

namespace keel::grpcsvc {

// grpc-go's answer to a call of `path` ("/package.Service/Method") on a server that serves
// `services` (full names): code UNIMPLEMENTED and its text.
grpc::Status unknown_method_status(std::string_view path, const std::set<std::string, std::less<>>& services);

class UnknownMethodService final : public grpc::CallbackGenericService {
 public:
  // `services`: the full names of the services the server registers besides this one.
  explicit UnknownMethodService(std::set<std::string, std::less<>> services) : services_(std::move(services)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  const std::set<std::string, std::less<>> services_;
};

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_UNKNOWN_METHOD_SERVICE_H_
