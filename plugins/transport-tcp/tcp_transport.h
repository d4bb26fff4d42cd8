// keel::Transport over raw TCP with Boost.Asio: what transport-tcp's start() returns.
//
// Each peer has two outgoing connections, one per lane (peer_connection.h), and each snapshot in
// flight one more (snapshot_stream.h), as does each introduction (introduction.h); peers connect
// to our listeners (listener.h) and their connections deliver frames to the handler
// (inbound_connection.h). wire_format.h is the protocol.
//
// Threads: `io_threads` threads run one io_context (every connection on a strand of its own);
// each snapshot in flight runs on a thread of its own, at most `max_inbound_snapshots` incoming
// and kMaxOutboundSnapshots outgoing, and so does each introduction (kMaxInboundIntroductions,
// kMaxOutboundIntroductions). Handler methods and completion callbacks are called from those
// threads only, except a callback given after stop(), called at once with Cancelled.
//
// Thread safety: every method may be called from any thread, except that stop() (and so the
// destructor) must not be called from a handler method or a completion callback.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_TCP_TRANSPORT_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_TCP_TRANSPORT_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "inbound_connection.h"
#include "keel/logger.h"
#include "keel/transport.h"
#include "listener.h"
#include "peer_connection.h"
#include "snapshot_threads.h"
#include "transport_context.h"

namespace keel::tcp {

struct TcpSettings {
  size_t io_threads = 2;
  size_t max_inbound_snapshots = 4;
};

class TcpTransport : public Transport {
 public:
  static constexpr size_t kMaxOutboundSnapshots = 16;
  // Only a joining member asks, one URL at a time: a few at once is plenty (the receiving side's
  // bound is wire_format.h's kMaxInboundIntroductions).
  static constexpr size_t kMaxOutboundIntroductions = 16;

  // Listens on options.listen_urls and starts the io threads.
  static Result<std::unique_ptr<Transport>> start(const TransportOptions& options, Logger& logger,
                                                  const TcpSettings& settings);

  ~TcpTransport() override;

  Status add_peer(MemberId peer, const std::vector<std::string>& urls) override;
  void remove_peer(MemberId peer) override;
  void send(MemberId to, std::string frame, Lane lane) override;
  void send_snapshot(MemberId to, std::string metadata, std::unique_ptr<ByteSource> data,
                     std::function<void(Status)> done) override;
  // `done` runs on an introduction thread of its own (or an io thread for a URL it cannot use),
  // never on the caller's, except after stop(): then at once, with Cancelled.
  void introduce(const std::string& url, std::string question, std::chrono::milliseconds timeout,
                 std::function<void(Result<std::string>)> done) override;
  void stop() override;
  std::vector<std::string> listen_urls() const override;

 private:
  TcpTransport(const TransportOptions& options, Logger& logger, const TcpSettings& settings);

  struct Peer {
    std::vector<PeerUrl> urls;
    std::shared_ptr<PeerConnection> lanes[2];  // by Lane
  };

  Status listen();
  void accept(boost::asio::ip::tcp::socket socket);
  void run_io();
  // Calls `done` from an io thread, or from stop() with Cancelled if it stops first (or at once,
  // with Cancelled, if it has stopped).
  void finish_later(std::function<void(Status)> done, Status status);

  TransportContext ctx_;  // first: destroyed last, after every object using its io_context
  const TcpSettings settings_;
  SnapshotThreads inbound_snapshots_;
  SnapshotThreads outbound_snapshots_;
  SnapshotThreads inbound_introductions_;
  SnapshotThreads outbound_introductions_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::thread> io_threads_;

  mutable std::mutex mu_;  // guards what follows
  std::map<MemberId, Peer> peers_;
  std::vector<std::weak_ptr<InboundConnection>> inbound_;
  std::vector<std::shared_ptr<Listener>> listeners_;
  std::vector<std::string> listen_urls_;
  uint64_t last_done_id_ = 0;
  std::map<uint64_t, std::function<void(Status)>> pending_done_;  // posted, not yet called

  std::mutex stop_mu_;  // one stop() at a time; a second waits for the first
  bool stop_done_ = false;
};

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_TCP_TRANSPORT_H_
