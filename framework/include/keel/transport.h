// keel::Transport: how Raft messages and snapshots travel between the members of a cluster.
//
// A transport plugin's factory returns a TransportPlugin; the member calls start() once with its
// identity, its listen URLs and the handler that receives what peers send.
//
// The contract every transport keeps (tests/plugins/transport checks it for each one):
// - Messages are opaque byte frames addressed to a member id: keel encodes Raft messages (and its
//   own member-to-member requests), the transport never looks inside. Delivery is best effort and
//   FIFO per peer and lane: frames to one peer on one lane arrive in the order sent or not at all.
// - Two lanes per peer: kControl (votes, heartbeats, answers: small and urgent) and kBulk (appends
//   carrying entries). A control frame never waits behind a bulk one (separate connections or
//   streams); frames of different lanes may overtake each other, which Raft tolerates.
// - send() never blocks the caller (the Raft loop): each peer and lane has a bounded queue (frames
//   and bytes); when it is full the frame is dropped and the peer reported unreachable. A peer that
//   cannot be reached is reported through TransportHandler::on_unreachable, so Raft probes it
//   again later; the transport keeps trying to reconnect, with a backoff, while frames wait.
// - Every connection starts with the sender's cluster id, its own id and the id it means to
//   reach. The receiver refuses a connection from another cluster or meant for another member,
//   and both sides log it ("cluster ID mismatch" / "member ID mismatch"); the sender then reports
//   the peer unreachable and drops what it queued.
// - The one exception is an introduction (introduce()): a member joining a running cluster knows
//   its peers' URLs but neither the cluster's id nor its own yet, so it asks a question of a URL,
//   not of a member, and no ids are checked; the receiver's handler answers it
//   (TransportHandler::on_introduction) and nothing else travels on that connection or call.
// - A snapshot travels as a stream with back-pressure (the reader's pace), beside the messages,
//   never holding them up; its end is reported to the sender through the completion callback.
// - TLS (TransportOptions::tls) is the contract to come, not served yet: today's transports refuse
//   a configured TlsOptions (NotSupported) rather than run in the clear. One that serves it
//   will have both sides check the peer's certificate against the trusted CA (and the allowed CN
//   when one is set), and refuse a peer that fails the check.
// - A frame larger than TransportOptions::max_frame_bytes is dropped on receipt (and reported in
//   the log), never allocated; the frames after it still arrive (or the connection is remade).
// - stop() returns once no transport thread runs a handler method any more (and none will).
//
// Threads: the transport calls the handler from its own threads; the handler's methods are
// thread-safe and return quickly. The handler outlives the transport.
#ifndef KEEL_TRANSPORT_H_
#define KEEL_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/byte_stream.h"
#include "keel/status.h"

namespace keel {

using MemberId = uint64_t;

// The lane a frame travels on (see the contract above).
enum class Lane : uint8_t { kControl = 0, kBulk = 1 };

struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  bool client_cert_auth = false;   // require and verify the peer's certificate
  std::string allowed_cn;          // if set, the peer certificate's CN must equal it
  std::string crl_file;
  std::string allowed_hostname;             // if set, the peer certificate must be for it
  std::vector<std::string> cipher_suites;   // empty: the TLS library's defaults
  std::string min_version = "TLS1.2";       // "TLS1.2" or "TLS1.3"
  bool enabled() const { return !cert_file.empty(); }
};

// Implemented by the member. Every method is thread-safe and returns quickly.
class TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // A frame from `from`. The handler takes the bytes.
  virtual void on_message(MemberId from, std::string frame) = 0;
  // `peer` could not be reached (connection failed, or its queue overflowed and frames were lost).
  virtual void on_unreachable(MemberId peer) = 0;
  // A snapshot from `from`: `metadata` as the sender passed it, `data` the stream, read until its
  // end on the calling transport thread. Return OK once it is stored; an error tells the sender.
  virtual Status on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) = 0;
  // A newcomer's question (Transport::introduce), from a sender whose ids are not known: the
  // answer, or the refusal the asker gets (code and message). Must return quickly.
  virtual Result<std::string> on_introduction(std::string_view question) {
    (void)question;
    return Status::NotSupported("this member answers no introductions");
  }
};

struct TransportOptions {
  MemberId local_id = 0;
  uint64_t cluster_id = 0;                 // frames from another cluster are refused
  std::vector<std::string> listen_urls;    // e.g. "http://127.0.0.1:2380"
  TlsOptions tls;
  TransportHandler* handler = nullptr;     // not owned; outlives the transport
  size_t max_queued_frames_per_peer = 4096;       // per peer and lane
  size_t max_queued_bytes_per_peer = 64u << 20;   // per peer and lane
  size_t max_frame_bytes = 16u << 20;
};

// A running transport. Thread safety: every method may be called from any thread.
class Transport {
 public:
  virtual ~Transport() = default;
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Adds or replaces the URLs at which `peer` is reached.
  virtual Status add_peer(MemberId peer, const std::vector<std::string>& urls) = 0;
  virtual void remove_peer(MemberId peer) = 0;
  // Queues `frame` for `to` on `lane`; never blocks. An unknown peer or a full queue drops the
  // frame and reports the peer unreachable.
  virtual void send(MemberId to, std::string frame, Lane lane) = 0;
  // Streams a snapshot to `to` with back-pressure; `done` is called once, from a transport
  // thread, with the receiver's answer or the failure. `data` is read from transport threads.
  virtual void send_snapshot(MemberId to, std::string metadata, std::unique_ptr<ByteSource> data,
                             std::function<void(Status)> done) = 0;
  // Asks whoever listens at `url` (a peer URL, as add_peer takes) `question`, without ids: for a
  // member that does not know the cluster's id or its own yet (see the contract above). `done` is
  // called once, from a transport thread, with the receiver's answer, its handler's refusal
  // (code and message as returned), or Unavailable when nothing at `url` answers within
  // `timeout`; InvalidArgument for a URL the transport cannot use. Never blocks. Works whatever
  // the ids this transport was started with (0 for both is fine).
  virtual void introduce(const std::string& url, std::string question, std::chrono::milliseconds timeout,
                         std::function<void(Result<std::string>)> done) = 0;
  // Stops listening and sending; pending frames are dropped, pending snapshots and introductions
  // fail with Cancelled (their `done` is called before stop() returns; an introduction that gave
  // up first may say Unavailable). A snapshot or introduction asked after stop() gets Cancelled
  // at once, on the caller's thread. Idempotent; also done by the destructor. Not to be called
  // from a handler method nor from a `done`.
  virtual void stop() = 0;
  // The addresses it listens on, as URLs ("http://127.0.0.1:40123"): a listen URL with port 0
  // gets a free port, and this says which.
  virtual std::vector<std::string> listen_urls() const = 0;
};

class TransportPlugin {
 public:
  virtual ~TransportPlugin() = default;
  // Starts listening on options.listen_urls. InvalidArgument for a URL it cannot serve,
  // Unavailable if an address is taken.
  virtual Result<std::unique_ptr<Transport>> start(const TransportOptions& options) = 0;
};

}  // namespace keel

#endif  // KEEL_TRANSPORT_H_
