// The gRPC service a transport serves (keel.transport.v1.Peer, callback API): checks who each
// call is from and for, refuses a stranger (logged at error, both ids in hex) and hands an
// accepted call to its reactor: a FrameReceiver per lane stream, a SnapshotReceiver per snapshot.
// An introduction is the exception: no ids are checked (its caller knows none yet), and it is
// answered at once, on the gRPC thread that received it (on_introduction returns quickly).
//
// Bounds on an introduction: gRPC refuses a message over the server's max_message_bytes()
// unread, and this service refuses a question over max_frame_bytes (RESOURCE_EXHAUSTED both); no
// object of ours exists before the whole question is in, and none after the answer, so what a
// silent caller holds is gRPC's stream, cut at the caller's deadline (an asker of ours always
// sets one), by keepalive when the caller vanishes, or by stop().
//
// Thread safety: gRPC calls the methods from its own threads, any number at once.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_PEER_SERVICE_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_PEER_SERVICE_H_

#include "call_identity.h"
#include "transport_context.h"
#include "worker_threads.h"

namespace keel::grpc_transport {

class PeerService final : public pb::Peer::CallbackService {
 public:
  // `snapshot_workers` runs the snapshot handlers.
  PeerService(TransportContext& ctx, WorkerThreads& snapshot_workers)
      : ctx_(ctx), snapshot_workers_(snapshot_workers) {}

  grpc::ServerReadReactor<pb::FrameBatch>* Control(grpc::CallbackServerContext* call,
                                                   pb::StreamEnd* reply) override;
  grpc::ServerReadReactor<pb::FrameBatch>* Bulk(grpc::CallbackServerContext* call,
                                                pb::StreamEnd* reply) override;
  grpc::ServerReadReactor<pb::SnapshotChunk>* Snapshot(grpc::CallbackServerContext* call,
                                                       pb::SnapshotReply* reply) override;
  grpc::ServerUnaryReactor* Introduce(grpc::CallbackServerContext* call, const pb::Introduction* request,
                                      pb::IntroductionReply* reply) override;

 private:
  grpc::ServerReadReactor<pb::FrameBatch>* lane(grpc::CallbackServerContext* call, Lane lane);
  // OK, or the status refusing `call` (logged).
  grpc::Status admit(const grpc::CallbackServerContext* call, const char* what, CallIdentity* id);
  // Runs the handler on `question` and fills `reply`; a status other than OK refuses the call.
  grpc::Status answer(const grpc::CallbackServerContext& call, const std::string& question,
                      pb::IntroductionReply* reply);

  TransportContext& ctx_;
  WorkerThreads& snapshot_workers_;
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_PEER_SERVICE_H_
