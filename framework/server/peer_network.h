// PeerNetwork: the member's end of the Transport. Raft's messages leave as frames (a kind byte,
// then the message as raft/codec.h encodes it: docs/format/peer-frames.md) on the bulk lane when
// they carry entries and on the control lane otherwise, so a heartbeat or a vote never waits
// behind a large append; frames that arrive become Raft messages for the Raft thread. It counts
// the bytes sent to and received from each peer under etcd's metric names.
//
// A frame that does not decode, or whose message claims another sender than the connection's, or
// is addressed to another member, is dropped and logged: a peer cannot speak for another.
//
// Thread safety: send() is the Raft thread's; the TransportHandler methods run on the transport's
// threads and hand what they get to the callbacks, which must be thread-safe and quick.
#ifndef KEEL_SERVER_PEER_NETWORK_H_
#define KEEL_SERVER_PEER_NETWORK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "keel/logger.h"
#include "keel/status.h"
#include "keel/transport.h"
#include "metrics/metrics.h"
#include "raft/raft.h"

namespace keel::server {

// The kind byte every peer frame starts with.
enum class PeerFrameKind : uint8_t { kRaftMessage = 1 };

struct PeerNetworkOptions {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  std::vector<std::string> listen_urls;
  size_t max_frame_bytes = 16u << 20;
  // Called from transport threads.
  std::function<void(raft::Message)> on_message;
  std::function<void(uint64_t peer)> on_unreachable;
  Logger* logger = nullptr;            // not owned; outlives the network
  metrics::Registry* metrics = nullptr;  // not owned; outlives the network
};

class PeerNetwork : public TransportHandler {
 public:
  // Starts `transport` listening on options.listen_urls, with this network as its handler.
  static Result<std::unique_ptr<PeerNetwork>> start(TransportPlugin& transport, PeerNetworkOptions options);
  ~PeerNetwork() override;

  Status add_peer(uint64_t peer, const std::vector<std::string>& urls);
  // Encodes and queues each message for its addressee (never blocks). Snapshots (kSnap) are not
  // sent here: the caller streams them.
  void send(const std::vector<raft::Message>& messages);
  std::vector<std::string> listen_urls() const { return transport_->listen_urls(); }
  // Stops the transport: no callback runs once it returns. Idempotent.
  void stop();

  // TransportHandler.
  void on_message(MemberId from, std::string frame) override;
  void on_unreachable(MemberId peer) override;
  Status on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) override;

 private:
  explicit PeerNetwork(PeerNetworkOptions options);

  const PeerNetworkOptions options_;
  std::unique_ptr<Transport> transport_;
  metrics::Family<metrics::Counter>* sent_bytes_ = nullptr;
  metrics::Family<metrics::Counter>* received_bytes_ = nullptr;
  metrics::Family<metrics::Counter>* sent_failures_ = nullptr;
};

// A Raft message as a peer frame, and back (Corruption for anything that is not one).
std::string encode_raft_frame(const raft::Message& m);
Result<raft::Message> decode_raft_frame(std::string_view frame);
// The lane a message takes: appends that carry entries on the bulk lane, the rest on control.
Lane lane_of(const raft::Message& m);

}  // namespace keel::server

#endif  // KEEL_SERVER_PEER_NETWORK_H_
