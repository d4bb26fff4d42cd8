#include "grpc/learner_gate.h"

#include "grpc/wire_check.h"

namespace keel::grpcsvc {

grpc::Status learner_refusal() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner");
}

grpc::ServerUnaryReactor* refuse_early(const server::Node& node, grpc::CallbackServerContext* context,
                                       const google::protobuf::Message& request) {
  grpc::Status refusal = check_wire_types(request);
  if (refusal.ok() && node.is_learner()) refusal = learner_refusal();
  if (refusal.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(refusal);
  return reactor;
}

}  // namespace keel::grpcsvc
