#include "peer_service.h"

#include <exception>
#include <string>

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

grpc::ServerUnaryReactor* PeerService::Introduce(grpc::CallbackServerContext* call,
                                                 const pb::Introduction* request,
                                                 pb::IntroductionReply* reply) {
  grpc::ServerUnaryReactor* reactor = call->DefaultReactor();
  grpc::Status s;
  try {
    s = answer(*call, request->question(), reply);
  } catch (const std::exception& e) {  // allocation; nothing may escape onto gRPC's thread
    s = grpc::Status(grpc::StatusCode::INTERNAL, std::string("transport-grpc: introduction: ") + e.what());
  }
  reactor->Finish(std::move(s));
  return reactor;
}

grpc::Status PeerService::answer(const grpc::CallbackServerContext& call, const std::string& question,
                                 pb::IntroductionReply* reply) {
  const std::string who = "an introduction from " + call.peer();
  if (ctx_.stopping()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "transport-grpc: member " +
                                                           hex(ctx_.options.local_id) + " is stopping");
  }
  if (question.size() > ctx_.options.max_frame_bytes) {
    std::string why = "transport-grpc: a question of " + std::to_string(question.size()) +
                      " bytes is over max_frame_bytes (" + std::to_string(ctx_.options.max_frame_bytes) + ")";
    ctx_.log(LogLevel::kWarn, "refused " + who + ": " + why);
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why);
  }
  Result<std::string> got = status_from_exceptions(
      "transport-grpc", "on_introduction", [&] { return ctx_.handler().on_introduction(question); });
  if (got.ok()) {
    ctx_.log(LogLevel::kInfo, "answered " + who);
    reply->set_code(0);
    reply->set_answer(std::move(got).value());
  } else {
    ctx_.log(LogLevel::kInfo, "refused " + who + ": " + got.status().to_string());
    reply->set_code(static_cast<uint32_t>(got.status().code()));
    reply->set_message(got.status().message());
  }
  return grpc::Status::OK;
}

}  // namespace keel::grpc_transport
