#include "peer_service.h"

#include "frame_receiver.h"
#include "snapshot_receiver.h"

namespace keel::grpc_transport {

namespace {

// A call refused before anything is read: finishes with `status` and goes.
template <typename Request>
class Refusal final : public grpc::ServerReadReactor<Request> {
 public:
  explicit Refusal(grpc::Status status) { this->Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::Status PeerService::admit(const grpc::CallbackServerContext* call, const char* what,
                                CallIdentity* id) {
  if (ctx_.stopping()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "transport-grpc: member " +
                                                           hex(ctx_.options.local_id) +
                                                           " is stopping");
  }
  grpc::Status s = check_identity(*call, ctx_.options, id);
  if (!s.ok()) {
    ctx_.log(LogLevel::kError, std::string("refused a ") + what + " from " + call->peer() + ": " +
                                   s.error_message());
  }
  return s;
}

grpc::ServerReadReactor<pb::FrameBatch>* PeerService::lane(grpc::CallbackServerContext* call,
                                                           Lane lane) {
  CallIdentity id;
  grpc::Status s = admit(call, lane == Lane::kControl ? "control stream" : "bulk stream", &id);
  if (!s.ok()) return new Refusal<pb::FrameBatch>(std::move(s));
  return new FrameReceiver(ctx_, call, id.from, lane);
}

grpc::ServerReadReactor<pb::FrameBatch>* PeerService::Control(grpc::CallbackServerContext* call,
                                                              pb::StreamEnd*) {
  return lane(call, Lane::kControl);
}

grpc::ServerReadReactor<pb::FrameBatch>* PeerService::Bulk(grpc::CallbackServerContext* call,
                                                           pb::StreamEnd*) {
  return lane(call, Lane::kBulk);
}

grpc::ServerReadReactor<pb::SnapshotChunk>* PeerService::Snapshot(
    grpc::CallbackServerContext* call, pb::SnapshotReply* reply) {
  CallIdentity id;
  grpc::Status s = admit(call, "snapshot", &id);
  if (!s.ok()) return new Refusal<pb::SnapshotChunk>(std::move(s));
  return new SnapshotReceiver(ctx_, snapshot_workers_, call, reply, id.from);
}

}  // namespace keel::grpc_transport
