#include "grpc_transport.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <exception>

#include "channels.h"

namespace keel::grpc_transport {

GrpcTransport::GrpcTransport(const TransportOptions& options, const Settings& settings,
                             Logger& logger)
    : ctx_(options, settings, logger),
      snapshot_receivers_(settings.max_snapshots),
      service_(ctx_, snapshot_receivers_),
      snapshot_sender_(ctx_),
      introducer_(ctx_) {}

Result<std::unique_ptr<Transport>> GrpcTransport::start(const TransportOptions& options,
                                                        const Settings& settings, Logger& logger) {
  if (options.handler == nullptr) {
    return Status::InvalidArgument("transport-grpc: TransportOptions::handler is not set");
  }
  if (options.tls.enabled()) {
    return Status::NotSupported("peer TLS is not served yet by transport-grpc");
  }
  if (options.max_frame_bytes == 0 || options.max_queued_frames_per_peer == 0) {
    return Status::InvalidArgument("transport-grpc: max_frame_bytes and "
                                   "max_queued_frames_per_peer must not be 0");
  }
  std::vector<PeerUrl> urls;
  for (const auto& u : options.listen_urls) {
    Result<PeerUrl> p = parse_peer_url(u, "transport-grpc");
    if (!p.ok()) return p.status();
    urls.push_back(std::move(p).value());
  }
  std::unique_ptr<GrpcTransport> t(new GrpcTransport(options, settings, logger));
  KEEL_RETURN_IF_ERROR(t->listen(urls));
  return std::unique_ptr<Transport>(std::move(t));
}

Status GrpcTransport::listen(const std::vector<PeerUrl>& urls) {
  if (urls.empty()) return Status::OK();  // sends only
  grpc::ServerBuilder builder;
  configure_server(builder, ctx_.max_message_bytes());
  std::vector<int> ports(urls.size(), 0);  // sized first: gRPC keeps pointers into it
  std::string all;
  for (size_t i = 0; i < urls.size(); ++i) {
    builder.AddListeningPort(urls[i].address(), grpc::InsecureServerCredentials(), &ports[i]);
    all += (i ? ", " : "") + urls[i].text;
  }
  builder.RegisterService(&service_);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return Status::Unavailable("transport-grpc: cannot listen on " + all +
                               " (an address is taken or cannot be bound)");
  }
  for (size_t i = 0; i < urls.size(); ++i) {
    if (ports[i] == 0) {
      return Status::Unavailable("transport-grpc: cannot listen on " + urls[i].text);
    }
    listen_urls_.push_back(urls[i].with_port(static_cast<uint16_t>(ports[i])));
  }
  ctx_.log(LogLevel::kInfo, "member " + hex(ctx_.options.local_id) + " of cluster " +
                                hex(ctx_.options.cluster_id) + " listening on " + all);
  return Status::OK();
}

Status GrpcTransport::add_peer(MemberId peer, const std::vector<std::string>& urls) {
  Result<std::vector<PeerUrl>> parsed = parse_peer_urls(urls, "transport-grpc");
  if (!parsed.ok()) return parsed.status();
  if (ctx_.stopping()) return Status::Cancelled("transport-grpc: stopped");
  std::unique_lock<std::shared_mutex> lock(peers_mu_);
  auto it = peers_.find(peer);
  if (it != peers_.end()) {
    Peer& p = *it->second;
    if (p.urls != *parsed) {
      p.urls = *parsed;
      for (auto& lane : p.lanes) lane->set_urls(*parsed);
    }
    return Status::OK();
  }
  auto p = std::make_unique<Peer>();
  p->urls = *parsed;
  p->lanes[0] = std::make_unique<LaneWriter>(ctx_, peer, Lane::kControl, *parsed);
  p->lanes[1] = std::make_unique<LaneWriter>(ctx_, peer, Lane::kBulk, *parsed);
  peers_.emplace(peer, std::move(p));
  return Status::OK();
}

void GrpcTransport::remove_peer(MemberId peer) {
  std::unique_ptr<Peer> gone;
  {
    std::unique_lock<std::shared_mutex> lock(peers_mu_);
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    gone = std::move(it->second);
    peers_.erase(it);
  }
  // Destroyed outside the lock: its writers end their streams and are joined.
}

void GrpcTransport::send(MemberId to, std::string frame, Lane lane) {
  if (ctx_.stopping()) return;
  if (frame.size() > ctx_.options.max_frame_bytes) {
    ctx_.log(LogLevel::kWarn, "dropped a frame of " + std::to_string(frame.size()) +
                                  " bytes for member " + hex(to) + ": over max_frame_bytes " +
                                  std::to_string(ctx_.options.max_frame_bytes));
    return;
  }
  bool queued = false;
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    auto it = peers_.find(to);
    if (it != peers_.end()) {
      queued = it->second->lanes[lane == Lane::kBulk]->enqueue(std::move(frame));
    }
  }
  if (!queued) ctx_.notifier.report_unreachable(to);
}

void GrpcTransport::send_snapshot(MemberId to, std::string metadata,
                                  std::unique_ptr<ByteSource> data,
                                  std::function<void(Status)> done) {
  SnapshotSender::Job job{to, {}, std::move(metadata), std::move(data), std::move(done)};
  Status refusal;
  {
    std::shared_lock<std::shared_mutex> lock(peers_mu_);
    auto it = peers_.find(to);
    if (it != peers_.end()) job.urls = it->second->urls;
  }
  if (ctx_.stopping()) {
    refusal = Status::Cancelled("transport-grpc: stopped");
  } else if (job.urls.empty()) {
    refusal = Status::NotFound("transport-grpc: member " + hex(to) + " is not a peer");
  } else if (!snapshot_sender_.start(job)) {
    refusal = Status::Unavailable("transport-grpc: " + std::to_string(ctx_.settings.max_snapshots) +
                                  " snapshots are in flight already");
  } else {
    return;
  }
  // `done` runs on a transport thread; once stop() has begun there is none left, so here.
  auto refused = std::make_shared<SnapshotSender::Job>(std::move(job));
  if (!ctx_.notifier.post([refused, refusal] { refused->done(refusal); })) {
    refused->done(Status::Cancelled("transport-grpc: stopped"));
  }
}

void GrpcTransport::introduce(const std::string& url, std::string question,
                              std::chrono::milliseconds timeout,
                              std::function<void(Result<std::string>)> done) {
  try {
    if (ctx_.stopping()) return done(Status::Cancelled("transport-grpc: stopped"));
    Result<PeerUrl> parsed = parse_peer_url(url, "transport-grpc");
    Status refusal;
    if (!parsed.ok()) {
      refusal = parsed.status();
    } else if (introducer_.start(*parsed, std::move(question), timeout, done)) {
      return;
    } else {
      refusal = Status::Cancelled("transport-grpc: stopped");
    }
    // On the notifier, as every other `done` runs off the caller's thread; none is left once
    // stop() has begun, so then here.
    auto refused = std::make_shared<std::function<void(Result<std::string>)>>(std::move(done));
    done = nullptr;
    if (!ctx_.notifier.post([refused, refusal] { (*refused)(refusal); })) {
      (*refused)(Status::Cancelled("transport-grpc: stopped"));
    }
  } catch (const std::exception& e) {
    ctx_.log(LogLevel::kError, std::string("introduce: ") + e.what());
    if (done) done(Status::Internal(std::string("transport-grpc: introduce: ") + e.what()));
  }
}

void GrpcTransport::stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  ctx_.stopped.store(true, std::memory_order_release);
  // Cancels every call in flight (a snapshot handler's read fails) and returns once every
  // reactor is done, so no gRPC thread calls the handler after this.
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  snapshot_receivers_.join_all();
  snapshot_sender_.stop();
  introducer_.stop();  // before the notifier, which runs the introductions' `done`
  std::map<MemberId, std::unique_ptr<Peer>> peers;
  {
    std::unique_lock<std::shared_mutex> lock(peers_mu_);
    peers.swap(peers_);
  }
  peers.clear();  // each writer ends its stream and is joined
  ctx_.notifier.stop();
  ctx_.log(LogLevel::kInfo, "member " + hex(ctx_.options.local_id) + " stopped");
}

}  // namespace keel::grpc_transport
