// etcd's learner answers only Status and serializable Range, and opens no stream but Snapshot:
// every other call gets Unavailable "etcdserver: rpc not supported for learner" (its
// interceptors' isRPCSupportedForLearner), after the request parsed and before anything else is
// checked. A learner's store may lag the leader's by any amount, and it cannot vote: a client
// must not take it for a voting member. refuse_early() puts that refusal after the one etcd
// makes first, for a request its unmarshal would refuse (wire_check.h).
#ifndef KEEL_SERVICES_GRPC_LEARNER_GATE_H_
#define KEEL_SERVICES_GRPC_LEARNER_GATE_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "server/node.h"

namespace keel::grpcsvc {

grpc::Status learner_refusal();

// etcd's refusals before a unary call is served, in its order: a request with a field of the
// wrong wire type (wire_check.h), then a learner's refusal. A reactor already finished with the
// refusal, or null.
grpc::ServerUnaryReactor* refuse_early(const server::Node& node, grpc::CallbackServerContext* context,
                                       const google::protobuf::Message& request);

// A bidi stream finished with learner_refusal() as soon as it starts; it deletes itself.
template <typename Request, typename Response>
class RefusedStream final : public grpc::ServerBidiReactor<Request, Response> {
 public:
  RefusedStream() { this->Finish(learner_refusal()); }
  void OnDone() override { delete this; }
};

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_LEARNER_GATE_H_
