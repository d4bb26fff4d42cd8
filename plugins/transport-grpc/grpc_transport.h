// GrpcTransport: keel's Transport over gRPC (README.md). One grpc::Server (callback API) serves
// the Peer service on every listen URL; each peer gets a LaneWriter per lane; snapshots go
// through the SnapshotSender and arrive at SnapshotReceivers run on their own worker threads;
// introductions go through the Introducer and are answered by the PeerService.
//
// Thread safety: every method may be called from any thread (transport.h). The peer table is
// read under a shared lock by send() and changed under an exclusive one by add/remove_peer.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_GRPC_TRANSPORT_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_GRPC_TRANSPORT_H_

#include <grpcpp/server.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "introducer.h"
#include "keel/logger.h"
#include "keel/transport.h"
#include "lane_writer.h"
#include "peer_service.h"
#include "snapshot_sender.h"
#include "transport_context.h"
#include "worker_threads.h"

namespace keel::grpc_transport {

class GrpcTransport final : public Transport {
 public:
  // Listens on options.listen_urls: InvalidArgument for a URL it cannot parse, NotSupported for
  // https or TLS options, Unavailable when an address cannot be bound.
  static Result<std::unique_ptr<Transport>> start(const TransportOptions& options,
                                                  const Settings& settings, Logger& logger);
  ~GrpcTransport() override { stop(); }

  Status add_peer(MemberId peer, const std::vector<std::string>& urls) override;
  void remove_peer(MemberId peer) override;
  void send(MemberId to, std::string frame, Lane lane) override;
  void send_snapshot(MemberId to, std::string metadata, std::unique_ptr<ByteSource> data,
                     std::function<void(Status)> done) override;
  // `done` runs on the notifier thread, never on the caller's, except after stop(): then at once,
  // with Cancelled.
  void introduce(const std::string& url, std::string question, std::chrono::milliseconds timeout,
                 std::function<void(Result<std::string>)> done) override;
  void stop() override;
  std::vector<std::string> listen_urls() const override { return listen_urls_; }

 private:
  struct Peer {
    std::vector<PeerUrl> urls;
    std::unique_ptr<LaneWriter> lanes[2];  // by Lane
  };

  GrpcTransport(const TransportOptions& options, const Settings& settings, Logger& logger);
  Status listen(const std::vector<PeerUrl>& urls);

  TransportContext ctx_;
  WorkerThreads snapshot_receivers_;
  PeerService service_;
  SnapshotSender snapshot_sender_;
  Introducer introducer_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> listen_urls_;  // set by start(), then constant

  std::shared_mutex peers_mu_;
  std::map<MemberId, std::unique_ptr<Peer>> peers_;

  std::mutex stop_mu_;  // one stop() at a time; a second one waits for the first
  bool stopped_ = false;
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_GRPC_TRANSPORT_H_
