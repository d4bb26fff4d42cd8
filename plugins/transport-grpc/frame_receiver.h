// The receiving end of one peer's lane stream (Peer.Control or Peer.Bulk): a gRPC callback
// reactor that reads one FrameBatch at a time and hands each frame to the handler, moved out of
// the message (no copy), on the gRPC thread that completed the read. One read is outstanding at a
// time, so frames of a lane arrive in order and gRPC's flow control holds back a sender whose
// receiver falls behind.
//
// A frame over max_frame_bytes that fits in a message (the server's limit leaves room for a
// snapshot chunk) is dropped here with a warning; a message over the server's limit is refused by
// gRPC before it is read, which cuts the stream (the sender reconnects).
//
// Lifetime: made by PeerService for an accepted call; deletes itself when gRPC says the call is
// done. Server::Shutdown() waits for that, so none outlives stop().
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_FRAME_RECEIVER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_FRAME_RECEIVER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "call_identity.h"
#include "transport_context.h"

namespace keel::grpc_transport {

class FrameReceiver final : public grpc::ServerReadReactor<pb::FrameBatch> {
 public:
  // Accepts `call` from `from` on `lane` and starts reading.
  FrameReceiver(TransportContext& ctx, grpc::CallbackServerContext* call, MemberId from, Lane lane);

  void OnReadDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  std::string who() const;

  TransportContext& ctx_;
  const MemberId from_;
  const Lane lane_;
  pb::FrameBatch batch_;  // the message being read; its frame slots are reused
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_FRAME_RECEIVER_H_
