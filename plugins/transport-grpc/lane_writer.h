// One peer's lane on the sending side: a bounded queue of frames and the thread that writes them,
// several per message, on one client-streaming call (Peer.Control or Peer.Bulk).
//
// send() only queues (never blocks: a full queue refuses the frame). The writer thread opens the
// stream when frames wait, waits for the receiver to accept it, then writes whatever is queued
// back to back, each message as full as batch_bytes() allows; gRPC's Write blocks while the
// connection's flow control says wait, and frames gather meanwhile. A call that fails (no
// connection, refused, cut) is reported unreachable once, then tried again after a backoff of
// 50 ms doubling to 1 s while frames wait (bounded by the queue). A refusal (another cluster or
// another member) is logged at error and drops what was queued.
//
// Thread safety: every public method may be called from any thread.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_LANE_WRITER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_LANE_WRITER_H_

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "call_identity.h"
#include "keel/peer_url.h"
#include "transport_context.h"

namespace keel::grpc_transport {

class LaneWriter {
 public:
  // Starts the writer thread. REQUIRES: `urls` not empty.
  LaneWriter(TransportContext& ctx, MemberId peer, Lane lane, std::vector<PeerUrl> urls);
  ~LaneWriter() { stop(); }
  LaneWriter(const LaneWriter&) = delete;
  LaneWriter& operator=(const LaneWriter&) = delete;

  // Queues `frame`; false (and the frame is dropped) when the queue is full. Never blocks.
  bool enqueue(std::string&& frame);
  // Reaches the peer at `urls` from now on (the current stream is ended and made again).
  void set_urls(std::vector<PeerUrl> urls);
  // Ends the stream, drops the queue and joins the thread. Idempotent.
  void stop();

 private:
  // How one stream ended.
  struct Outcome {
    grpc::Status status;
    bool accepted = false;  // the receiver took the stream
    bool moved = false;     // ended because the URLs changed (or stop() began): not a failure
  };

  void run();
  Outcome stream_once(pb::Peer::Stub& stub, const PeerUrl& url, uint64_t generation);
  // Waits for frames and moves as many as fit into `batch`; false once the stream should end.
  bool take_batch(pb::FrameBatch* batch, uint64_t generation);
  void handle_failure(const Outcome& out, const PeerUrl& url);
  // Waits `delay` unless stop() or new URLs come first.
  void pause(std::chrono::milliseconds delay, uint64_t generation);

  TransportContext& ctx_;
  const MemberId peer_;
  const Lane lane_;
  const size_t max_frames_;
  const size_t max_bytes_;
  const size_t batch_bytes_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  std::vector<PeerUrl> urls_;
  uint64_t generation_ = 0;               // rises with every set_urls()
  grpc::ClientContext* call_ = nullptr;   // the live call, which stop() and set_urls() cancel
  bool stopping_ = false;
  bool down_logged_ = false;              // the peer's failure to connect was logged already
  std::thread thread_;                    // last: starts once the rest is built
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_LANE_WRITER_H_
