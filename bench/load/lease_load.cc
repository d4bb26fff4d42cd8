#include "lease_load.h"

#include <grpcpp/alarm.h>

#include <thread>

#include "kv_load.h"

namespace keel::bench {

// One lease and its keep-alive stream. At most one of start, alarm, write, read or finish is
// outstanding at a time, so Finish is always called with nothing else in flight, as gRPC asks.
class LeaseLoad::Client {
 public:
  Client(LeaseLoad& load, etcdserverpb::Lease::Stub& stub, grpc::CompletionQueue* cq, Stats& stats)
      : load_(load), stub_(stub), cq_(cq), stats_(stats) {
    start_tag_.done = [this](bool ok) {
      ready_.store(ok);
      started_.store(true);
    };
    alarm_tag_.done = [this](bool) { send(); };
    write_tag_.done = [this](bool ok) {
      if (ok) {
        rpc_->Read(&reply_, &read_tag_);
      } else {
        on_failed("keep-alive write failed");
      }
    };
    read_tag_.done = [this](bool ok) { on_read(ok); };
    finish_tag_.done = [this](bool) { load_.closed_.fetch_add(1); };
  }

  Status grant() {
    grpc::ClientContext ctx;
    load_.conns_.prepare(ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(load_.o_.lease_ttl_s);
    etcdserverpb::LeaseGrantResponse reply;
    grpc::Status s = stub_.LeaseGrant(&ctx, req, &reply);
    if (!s.ok()) return Status::Unavailable("LeaseGrant: " + status_text(s));
    if (!reply.error().empty()) return Status::Unavailable("LeaseGrant: " + reply.error());
    lease_ = reply.id();
    request_.set_id(lease_);
    return Status::OK();
  }

  void open() {
    load_.conns_.prepare(ctx_);
    rpc_ = stub_.PrepareAsyncLeaseKeepAlive(&ctx_, cq_);
    rpc_->StartCall(&start_tag_);
  }
  bool started() const { return started_.load(); }
  bool ready() const { return ready_.load(); }

  void next() {
    auto claim = load_.source_.next();
    if (!claim) {
      end();
      return;
    }
    if (claim->not_before > Clock::now()) {
      alarm_.Set(cq_, to_deadline(claim->not_before), &alarm_tag_);
    } else {
      send();
    }
  }

  // A stream that never opened, closed from the main thread before anything was sent.
  void close_unstarted() {
    ctx_.TryCancel();
    rpc_->Finish(&status_, &finish_tag_);
  }

  void revoke() {
    grpc::ClientContext ctx;
    load_.conns_.prepare(ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    etcdserverpb::LeaseRevokeRequest req;
    req.set_id(lease_);
    etcdserverpb::LeaseRevokeResponse reply;
    stub_.LeaseRevoke(&ctx, req, &reply);  // best effort: the lease expires anyway
  }

 private:
  void send() {
    sent_ = Clock::now();
    rpc_->Write(request_, &write_tag_);
  }

  void on_read(bool ok) {
    if (!ok) {
      on_failed("keep-alive stream closed by the server");
      return;
    }
    if (reply_.ttl() <= 0) {
      stats_.error("lease " + std::to_string(lease_) + " expired or unknown (TTL 0)");
    } else {
      ++stats_.ok;
      stats_.latency.record(static_cast<uint64_t>((Clock::now() - sent_).count()));
    }
    load_.stats_.completed.fetch_add(1, std::memory_order_relaxed);
    next();
  }

  void on_failed(const std::string& why) {
    stats_.error(why);
    load_.stats_.completed.fetch_add(1, std::memory_order_relaxed);
    end();
  }

  void end() {
    ctx_.TryCancel();
    rpc_->Finish(&status_, &finish_tag_);
    load_.retire();
  }

  LeaseLoad& load_;
  etcdserverpb::Lease::Stub& stub_;
  grpc::CompletionQueue* cq_;
  Stats& stats_;
  int64_t lease_ = 0;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                                etcdserverpb::LeaseKeepAliveResponse>> rpc_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  etcdserverpb::LeaseKeepAliveResponse reply_;
  grpc::Status status_;
  grpc::Alarm alarm_;
  Tag start_tag_, alarm_tag_, write_tag_, read_tag_, finish_tag_;
  Clock::time_point sent_;
  std::atomic<bool> started_{false}, ready_{false};
};

LeaseLoad::LeaseLoad(const Options& o, Connections& conns, Pollers& pollers, OpSource& source, RunStats& stats)
    : o_(o), conns_(conns), source_(source), stats_(stats) {
  for (int i = 0; i < o.clients; ++i) {
    const int q = pollers.index(i);
    clients_.push_back(std::make_unique<Client>(*this, conns.lease(i), pollers.queue(q),
                                                stats.per_queue[static_cast<size_t>(q)]));
  }
}

LeaseLoad::~LeaseLoad() = default;

Status LeaseLoad::open() {
  for (auto& c : clients_) {
    if (Status s = c->grant(); !s.ok()) return s;
  }
  for (auto& c : clients_) c->open();
  const auto deadline = Clock::now() + std::chrono::seconds(static_cast<int64_t>(o_.dial_timeout_s) + 10);
  Status status;
  for (auto& c : clients_) {
    while (!c->started() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (status.ok() && !c->ready()) status = Status::Unavailable("a LeaseKeepAlive stream did not open");
  }
  if (!status.ok()) {
    // Nothing was sent on any stream yet: close them all here, so close() finds them closed.
    for (auto& c : clients_) {
      if (c->started()) c->close_unstarted();
    }
  }
  return status;
}

void LeaseLoad::start() {
  finished_.store(false);
  active_.store(static_cast<int>(clients_.size()), std::memory_order_release);
  for (auto& c : clients_) c->next();
}

void LeaseLoad::retire() {
  const auto now = Clock::now();
  if (active_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    end_ = now;
    finished_.store(true, std::memory_order_release);
  }
}

void LeaseLoad::close(double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (closed_.load() < static_cast<int>(clients_.size()) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& c : clients_) c->revoke();
}

}  // namespace keel::bench
