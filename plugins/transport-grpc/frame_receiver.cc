#include "frame_receiver.h"

namespace keel::grpc_transport {

FrameReceiver::FrameReceiver(TransportContext& ctx, grpc::CallbackServerContext* call,
                             MemberId from, Lane lane)
    : ctx_(ctx), from_(from), lane_(lane) {
  ctx_.log(LogLevel::kInfo, who() + " connected");
  mark_accepted(*call);
  StartSendInitialMetadata();
  StartRead(&batch_);
}

std::string FrameReceiver::who() const {
  return "member " + hex(from_) + " (" + lane_name(lane_) + " lane)";
}

void FrameReceiver::OnReadDone(bool ok) {
  if (!ok) {
    Finish(grpc::Status::OK);
    return;
  }
  const size_t limit = ctx_.options.max_frame_bytes;
  for (std::string& frame : *batch_.mutable_frames()) {
    if (ctx_.stopping()) break;
    if (frame.size() > limit) {
      ctx_.log(LogLevel::kWarn, "dropped a frame of " + std::to_string(frame.size()) + " bytes from " +
                                    who() + ": over max_frame_bytes " + std::to_string(limit));
      continue;
    }
    ctx_.handler().on_message(from_, std::move(frame));
  }
  batch_.Clear();
  StartRead(&batch_);
}

void FrameReceiver::OnCancel() {
  if (ctx_.stopping()) return;
  ctx_.log(LogLevel::kWarn, "the stream from " + who() +
                                " was cut: the connection was lost, the sender went away, or a "
                                "message exceeded the limit of " +
                                std::to_string(ctx_.max_message_bytes()) + " bytes");
}

void FrameReceiver::OnDone() {
  if (!ctx_.stopping()) ctx_.log(LogLevel::kInfo, who() + " disconnected");
  delete this;
}

}  // namespace keel::grpc_transport
