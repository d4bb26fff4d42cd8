// PeerNetwork: the member's end of the Transport. Raft's messages leave as frames
// (peer_frames.h) on the bulk lane when they carry entries and on the control lane otherwise, so
// a heartbeat or a vote never waits behind a large append; frames that arrive become Raft
// messages for the Raft thread. Calls (a follower's lease keep-alive for the leader) go out with
// a call id and wait for the reply with that id, or for their deadline.
//
// It measures under etcd's metric names: the bytes sent to and received from each peer, the
// snapshots sent and received (count, failures, duration), and the round trip to each peer,
// probed every kProbeInterval with an empty call it answers itself (etcd's prober does the same
// over HTTP).
//
// The peer links' failpoints (failpoint.h: peerSend/<id>, peerRecv/<id>) lose or delay frames
// here, before the transport sees them or the member does, so a test partitions members or slows
// a link the same way over any transport. A delayed frame waits on a DelayLine, not on the thread
// that sent or received it.
//
// A frame that does not decode, or whose message claims another sender than the connection's, or
// is addressed to another member, is dropped and logged: a peer cannot speak for another.
//
// Thread safety: send() is the Raft thread's; the TransportHandler methods run on the transport's
// threads and hand what they get to the callbacks, which must be thread-safe and quick.
#ifndef KEEL_SERVER_PEER_NETWORK_H_
#define KEEL_SERVER_PEER_NETWORK_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "failpoint/delay_line.h"
#include "keel/logger.h"
#include "keel/status.h"
#include "keel/transport.h"
#include "metrics/metrics.h"
#include "raft/raft.h"
#include "server/peer_frames.h"

namespace keel::server {

// How often probe() measures the round trip to each peer (etcd's prober: every 4 s).
inline constexpr std::chrono::seconds kProbeInterval{4};
// How long a peer counts as active after the last frame from it.
inline constexpr std::chrono::seconds kActiveWindow = 2 * kProbeInterval;
// How long a peer dropped by set_peers stays connected, so what was queued for it (the commit of
// its own removal, the answer to its call) still reaches it: etcd's removed member likewise stops
// 10 ticks after its removal.
inline constexpr std::chrono::seconds kDepartureLinger{1};

struct PeerNetworkOptions {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  std::vector<std::string> listen_urls;
  size_t max_frame_bytes = 16u << 20;
  // Called from transport threads.
  std::function<void(raft::Message)> on_message;
  std::function<void(uint64_t peer)> on_unreachable;
  // A snapshot from a peer: `metadata` as sent, `data` read to its end; OK once it is stored.
  std::function<Status(uint64_t from, std::string_view metadata, ByteSource& data)> on_snapshot;
  // A peer's call; `reply` (callable once, from any thread) sends the answer back.
  std::function<void(uint64_t from, PeerMethod method, std::string body,
                     std::function<void(Result<std::string>)> reply)>
      on_call;
  // A newcomer's question (keel/transport.h: introduce); absent: refused.
  std::function<Result<std::string>(std::string_view question)> on_introduction;
  Logger* logger = nullptr;            // not owned; outlives the network
  metrics::Registry* metrics = nullptr;  // not owned; outlives the network
};

class PeerNetwork : public TransportHandler {
 public:
  // Starts `transport` listening on options.listen_urls, with this network as its handler.
  static Result<std::unique_ptr<PeerNetwork>> start(TransportPlugin& transport, PeerNetworkOptions options);
  ~PeerNetwork() override;

  // Adds `peer` at `urls`, or gives a known peer new URLs.
  Status add_peer(uint64_t peer, const std::vector<std::string>& urls);
  // Makes the peers exactly `peers` (by id, with their URLs): adds the new ones, moves the ones
  // whose URLs changed, and drops the others kDepartureLinger after `now` (their calls then
  // expire).
  Status set_peers(const std::map<uint64_t, std::vector<std::string>>& peers,
                   std::chrono::steady_clock::time_point now);
  // Disconnects the peers set_peers dropped whose linger ended by `now`, and fails the calls still
  // waiting for them with Unavailable. Called often (each Raft tick); never blocks.
  void retire_departed(std::chrono::steady_clock::time_point now);
  // Since when frames have kept coming from `peer` (etcd's ActiveSince): none once the transport
  // reported it unreachable, or once nothing came from it for kActiveWindow (every peer answers
  // a probe every kProbeInterval).
  std::optional<std::chrono::steady_clock::time_point> active_since(
      uint64_t peer, std::chrono::steady_clock::time_point now) const;
  // Encodes and queues each message for its addressee (never blocks). Snapshots (kSnap) are not
  // sent here: the caller streams them.
  void send(const std::vector<raft::Message>& messages);
  using CallDone = std::function<void(Result<std::string>)>;
  // What a call does when the transport reports its peer unreachable: wait on for the answer (the
  // frame may still get through once the transport reconnects), or fail at once with Unavailable
  // (an asker with other peers to ask need not wait out a dead one).
  enum class IfUnreachable { kWait, kFail };
  // Asks `peer` to run `method` on `body`; `done` gets the answer's body or the peer's error, or
  // what expire_calls() says once `deadline` has passed, or Unavailable at once for a member that
  // is not (or no longer) a peer. Never blocks.
  void call(uint64_t peer, PeerMethod method, std::string body,
            std::chrono::steady_clock::time_point deadline, CallDone done,
            IfUnreachable if_unreachable = IfUnreachable::kWait);
  // Streams a snapshot to `peer` (Transport::send_snapshot); `done` gets the receiver's answer.
  void send_snapshot(uint64_t peer, std::string metadata, std::unique_ptr<ByteSource> data,
                     std::function<void(Status)> done);
  // Fails the calls whose deadline is at or before `now` with `s`.
  void expire_calls(std::chrono::steady_clock::time_point now, const Status& s);
  // Sends each peer a probe when kProbeInterval has passed since the last; the replies measure
  // the round trip. Called often (each Raft tick); never blocks.
  void probe(std::chrono::steady_clock::time_point now);
  std::vector<std::string> listen_urls() const { return transport_->listen_urls(); }
  // Transport::introduce: asks `url` `question` without ids.
  void introduce(const std::string& url, std::string question, std::chrono::milliseconds timeout,
                 std::function<void(Result<std::string>)> done) {
    transport_->introduce(url, std::move(question), timeout, std::move(done));
  }
  // Stops the transport (no callback runs once it returns) and fails the calls still waiting with
  // `s`. Idempotent.
  void stop(const Status& s);

  // TransportHandler.
  void on_message(MemberId from, std::string frame) override;
  void on_unreachable(MemberId peer) override;
  Status on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) override;
  Result<std::string> on_introduction(std::string_view question) override;

 private:
  struct PendingCall {
    CallDone done;
    std::chrono::steady_clock::time_point deadline;
    uint64_t peer = 0;
    IfUnreachable if_unreachable = IfUnreachable::kWait;
  };

  explicit PeerNetwork(PeerNetworkOptions options);
  void on_call_frame(uint64_t from, std::string_view frame);
  void on_reply_frame(uint64_t from, std::string_view frame);
  // Sends `frame` to `to` unless its link's failpoint loses or delays it.
  void send_frame(uint64_t to, std::string frame, Lane lane);
  void transmit(uint64_t to, std::string frame, Lane lane);
  // Takes a frame that came from `from` (past its link's failpoint).
  void receive(uint64_t from, std::string frame);

  const PeerNetworkOptions options_;
  std::mutex calls_mu_;
  std::map<uint64_t, PendingCall> calls_;  // by call id
  uint64_t next_call_id_ = 0;
  bool stopped_ = false;
  std::map<uint64_t, std::vector<std::string>> peers_;  // guarded by calls_mu_
  std::map<uint64_t, std::chrono::steady_clock::time_point> departing_;  // guarded by calls_mu_: until when
  // When each peer became active, and when a frame last came from it.
  struct Activity {
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point last_heard;
  };
  void heard_from(uint64_t peer);
  mutable std::mutex activity_mu_;
  std::map<uint64_t, Activity> activity_;
  std::chrono::steady_clock::time_point last_probe_;  // probe()'s caller's alone
  std::unique_ptr<Transport> transport_;
  failpoint::DelayLine late_frames_;  // frames a peer link's sleep(ms) failpoint holds back
  std::atomic<Transport*> sending_{nullptr};  // transport_, once start() has it
  metrics::Family<metrics::Counter>* sent_bytes_ = nullptr;
  metrics::Family<metrics::Counter>* received_bytes_ = nullptr;
  metrics::Family<metrics::Counter>* sent_failures_ = nullptr;
  metrics::Family<metrics::Histogram>* round_trip_ = nullptr;
  metrics::Family<metrics::Counter>* snapshots_sent_ = nullptr;
  metrics::Family<metrics::Counter>* snapshot_send_failures_ = nullptr;
  metrics::Family<metrics::Histogram>* snapshot_send_seconds_ = nullptr;
  metrics::Family<metrics::Counter>* snapshots_received_ = nullptr;
  metrics::Family<metrics::Counter>* snapshot_receive_failures_ = nullptr;
  metrics::Family<metrics::Histogram>* snapshot_receive_seconds_ = nullptr;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_PEER_NETWORK_H_
