#include "tcp_transport.h"

#include <algorithm>
#include <cstdint>
#include <exception>

#include "introduction.h"
#include "snapshot_stream.h"

namespace keel::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;

TcpTransport::TcpTransport(const TransportOptions& options, Logger& logger, const TcpSettings& settings)
    : ctx_(options, logger),
      settings_(settings),
      inbound_snapshots_(settings.max_inbound_snapshots),
      outbound_snapshots_(kMaxOutboundSnapshots),
      inbound_introductions_(kMaxInboundIntroductions),
      outbound_introductions_(kMaxOutboundIntroductions) {}

TcpTransport::~TcpTransport() { stop(); }

Result<std::unique_ptr<Transport>> TcpTransport::start(const TransportOptions& options,
                                                       Logger& logger, const TcpSettings& settings) {
  std::unique_ptr<TcpTransport> t(new TcpTransport(options, logger, settings));
  KEEL_RETURN_IF_ERROR(t->listen());
  t->work_.emplace(asio::make_work_guard(t->ctx_.io));
  try {
    for (size_t i = 0; i < settings.io_threads; ++i) t->io_threads_.emplace_back([p = t.get()] { p->run_io(); });
  } catch (const std::system_error& e) {
    t->stop();
    return Status::ResourceExhausted(std::string("transport-tcp: cannot start its threads: ") + e.what());
  }
  {
    std::lock_guard<std::mutex> lock(t->mu_);
    for (auto& l : t->listeners_) l->start();
  }
  std::string urls;
  for (const auto& u : t->listen_urls_) urls += " " + u;
  t->ctx_.log(LogLevel::kInfo, "member " + hex(options.local_id) + " of cluster " +
                                   hex(options.cluster_id) + " listening on" +
                                   (urls.empty() ? std::string(" nothing") : urls));
  return std::unique_ptr<Transport>(std::move(t));
}

Status TcpTransport::listen() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const std::string& text : ctx_.options.listen_urls) {
    Result<PeerUrl> url = parse_peer_url(text, "transport-tcp");
    if (!url.ok()) return url.status();
    Result<std::shared_ptr<Listener>> l = Listener::open(
        ctx_, *url, [this](tcp::socket socket) { accept(std::move(socket)); });
    if (!l.ok()) return l.status();
    listen_urls_.push_back((*l)->url());
    listeners_.push_back(std::move(l).value());
  }
  return Status::OK();
}

void TcpTransport::accept(tcp::socket socket) {
  auto c = std::make_shared<InboundConnection>(ctx_, inbound_snapshots_, inbound_introductions_,
                                              std::move(socket));
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(inbound_, [](const std::weak_ptr<InboundConnection>& w) { return w.expired(); });
    inbound_.push_back(c);
  }
  c->start();
}

void TcpTransport::run_io() {
  for (;;) {
    try {
      ctx_.io.run();
      return;
    } catch (const std::exception& e) {
      // Only allocation can throw in our handlers; carry on serving the others.
      ctx_.log(LogLevel::kError, std::string("an io handler failed: ") + e.what());
    }
  }
}

Status TcpTransport::add_peer(MemberId peer, const std::vector<std::string>& urls) {
  return status_from_exceptions("transport-tcp", "add_peer", [&]() -> Status {
    if (urls.empty()) return Status::InvalidArgument("transport-tcp: peer " + hex(peer) + " has no URL");
    std::vector<PeerUrl> parsed;
    for (const std::string& text : urls) {
      Result<PeerUrl> url = parse_peer_url(text, "transport-tcp");
      if (!url.ok()) return url.status();
      parsed.push_back(std::move(url).value());
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (ctx_.stopped.load()) return Status::FailedPrecondition("transport-tcp is stopped");
    auto it = peers_.find(peer);
    if (it != peers_.end()) {
      it->second.urls = parsed;
      for (auto& lane : it->second.lanes) lane->set_urls(parsed);
      return Status::OK();
    }
    Peer& p = peers_[peer];
    p.urls = parsed;
    p.lanes[0] = std::make_shared<PeerConnection>(ctx_, peer, Lane::kControl, parsed);
    p.lanes[1] = std::make_shared<PeerConnection>(ctx_, peer, Lane::kBulk, parsed);
    return Status::OK();
  });
}

void TcpTransport::remove_peer(MemberId peer) {
  std::shared_ptr<PeerConnection> lanes[2];
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = peers_.find(peer);
    if (it == peers_.end()) return;
    lanes[0] = std::move(it->second.lanes[0]);
    lanes[1] = std::move(it->second.lanes[1]);
    peers_.erase(it);
  }
  try {
    for (auto& lane : lanes) lane->close();
  } catch (const std::exception& e) {
    ctx_.log(LogLevel::kError, std::string("remove_peer: ") + e.what());
  }
}

void TcpTransport::send(MemberId to, std::string frame, Lane lane) {
  try {
    std::shared_ptr<PeerConnection> connection;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ctx_.stopped.load(std::memory_order_acquire)) return;
      auto it = peers_.find(to);
      if (it != peers_.end()) connection = it->second.lanes[lane == Lane::kBulk ? 1 : 0];
    }
    if (!connection) return ctx_.report_unreachable(to);
    if (frame.size() > UINT32_MAX || !connection->enqueue(frame)) connection->report_unreachable();
  } catch (const std::exception& e) {
    ctx_.log(LogLevel::kError, std::string("send: ") + e.what());
  }
}

void TcpTransport::finish_later(std::function<void(Status)> done, Status status) {
  uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ctx_.stopped.load(std::memory_order_acquire)) {
      id = ++last_done_id_;
      pending_done_.emplace(id, std::move(done));
    }
  }
  if (id == 0) return done(Status::Cancelled("transport-tcp is stopped"));
  // If stop() comes first, it calls the callback itself (with Cancelled).
  asio::post(ctx_.io, [this, id, status] {
    std::function<void(Status)> f;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pending_done_.find(id);
      if (it == pending_done_.end()) return;
      f = std::move(it->second);
      pending_done_.erase(it);
    }
    f(status);
  });
}

void TcpTransport::send_snapshot(MemberId to, std::string metadata, std::unique_ptr<ByteSource> data,
                                 std::function<void(Status)> done) {
  struct Job {
    std::string metadata;
    std::unique_ptr<ByteSource> data;
    std::function<void(Status)> done;
    std::vector<PeerUrl> urls;
  };
  try {
    auto job = std::make_shared<Job>(Job{std::move(metadata), std::move(data), std::move(done), {}});
    if (!job->data) {
      return finish_later(std::move(job->done),
                          Status::InvalidArgument("transport-tcp: a snapshot needs a source"));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!ctx_.stopped.load()) {
        auto it = peers_.find(to);
        if (it != peers_.end()) job->urls = it->second.urls;
      }
    }
    if (ctx_.stopped.load()) {
      job->data.reset();
      return job->done(Status::Cancelled("transport-tcp is stopped"));
    }
    if (job->urls.empty()) {
      ctx_.report_unreachable(to);
      job->data.reset();
      return finish_later(std::move(job->done),
                          Status::Unavailable("transport-tcp: no peer " + hex(to)));
    }
    TransportContext* ctx = &ctx_;
    SnapshotThreads* threads = &outbound_snapshots_;
    bool started = outbound_snapshots_.start([ctx, threads, job, to](SnapshotThreads::Slot& slot) {
      Status s = send_snapshot_stream(*ctx, *threads, slot, to, job->urls, job->metadata, *job->data);
      job->data.reset();  // the source is let go before the sender hears the end
      std::function<void(Status)> done = std::move(job->done);
      done(s);
    });
    if (!started) {
      job->data.reset();
      if (outbound_snapshots_.stopping()) return job->done(Status::Cancelled("transport-tcp is stopped"));
      return finish_later(std::move(job->done),
                          Status::ResourceExhausted("transport-tcp: too many snapshots in flight"));
    }
  } catch (const std::exception& e) {
    ctx_.log(LogLevel::kError, std::string("send_snapshot: ") + e.what());
  }
}

void TcpTransport::introduce(const std::string& url, std::string question,
                             std::chrono::milliseconds timeout,
                             std::function<void(Result<std::string>)> done) {
  struct Job {
    PeerUrl url;
    std::string question;
    std::chrono::milliseconds timeout;
    std::function<void(Result<std::string>)> done;
  };
  // Whoever takes `done` out of here calls it: one of the paths below, or the catch.
  auto take = [&done] {
    std::function<void(Result<std::string>)> f = std::move(done);
    done = nullptr;
    return f;
  };
  try {
    if (ctx_.stopped.load(std::memory_order_acquire)) {
      return take()(Status::Cancelled("transport-tcp is stopped"));
    }
    // finish_later() holds a Status callback; every status it is given is an error.
    auto later = [](std::function<void(Result<std::string>)> f) {
      return [f = std::move(f)](Status s) { f(std::move(s)); };
    };
    Result<PeerUrl> parsed = parse_peer_url(url, "transport-tcp");
    if (!parsed.ok()) return finish_later(later(take()), parsed.status());
    if (question.size() > UINT32_MAX) {
      return finish_later(later(take()),
                          Status::InvalidArgument("transport-tcp: a question of " +
                                                  std::to_string(question.size()) +
                                                  " bytes does not fit a frame"));
    }
    auto job = std::make_shared<Job>(Job{std::move(parsed).value(), std::move(question), timeout, take()});
    TransportContext* ctx = &ctx_;
    SnapshotThreads* threads = &outbound_introductions_;
    bool started = outbound_introductions_.start([ctx, threads, job](SnapshotThreads::Slot& slot) {
      Result<std::string> r = status_from_exceptions("transport-tcp", "introduce", [&] {
        return ask_introduction(*ctx, *threads, slot, job->url, job->question, job->timeout);
      });
      std::function<void(Result<std::string>)> f = std::move(job->done);
      f(std::move(r));
    });
    if (!started) {
      if (outbound_introductions_.stopping()) {
        return job->done(Status::Cancelled("transport-tcp is stopped"));
      }
      return finish_later(later(std::move(job->done)),
                          Status::ResourceExhausted("transport-tcp: too many introductions in flight"));
    }
  } catch (const std::exception& e) {
    ctx_.log(LogLevel::kError, std::string("introduce: ") + e.what());
    if (done) take()(Status::Internal(std::string("transport-tcp: introduce: ") + e.what()));
  }
}

void TcpTransport::stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stop_done_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_.stopped.store(true, std::memory_order_release);
  }
  // Snapshots first: their blocked socket calls fail at once, senders' `done` gets Cancelled.
  inbound_snapshots_.stop_all();
  outbound_snapshots_.stop_all();
  inbound_introductions_.stop_all();
  outbound_introductions_.stop_all();  // each asker's `done` has run (Cancelled if cut)
  work_.reset();
  ctx_.io.stop();
  for (std::thread& t : io_threads_) t.join();
  io_threads_.clear();
  // No io thread runs now: close every socket here. Handlers still queued never run; the
  // io_context's destructor frees them.
  std::map<uint64_t, std::function<void(Status)>> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& l : listeners_) l->close_now();
    for (auto& [id, peer] : peers_) {
      for (auto& lane : peer.lanes) lane->close_now();
    }
    for (auto& w : inbound_) {
      if (auto c = w.lock()) c->close_now();
    }
    listeners_.clear();
    peers_.clear();
    inbound_.clear();
    pending.swap(pending_done_);
  }
  for (auto& [id, done] : pending) done(Status::Cancelled("transport-tcp stopped"));
  stop_done_ = true;
  ctx_.log(LogLevel::kInfo, "stopped");
}

std::vector<std::string> TcpTransport::listen_urls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return listen_urls_;
}

}  // namespace keel::tcp
