#include "grpc/learner_gate.h"

namespace keel::grpcsvc {

grpc::Status learner_refusal() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: rpc not supported for learner");
}

grpc::ServerUnaryReactor* refuse_if_learner(const server::Node& node, grpc::CallbackServerContext* context) {
  if (!node.is_learner()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(learner_refusal());
  return reactor;
}

}  // namespace keel::grpcsvc
