// Lease: Grant and Revoke replicated through Raft; KeepAlive renews on the leader's lessor (a
// bidi stream, one response per request, in order) and TimeToLive asks it after a ReadIndex round
// (a follower asks the leader for both, as etcd forwards them); Leases from the local lessor.
#include <deque>
#include <mutex>
#include <utility>

#include "grpc/convert.h"
#include "grpc/learner_gate.h"
#include "grpc/wire_check.h"
#include "grpc/services.h"
#include "lease/lease.h"

namespace keel::grpcsvc {
namespace {

using KeepAliveReactor =
    grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>;

// One KeepAlive stream. Reads one request at a time; each is answered with the lease's TTL (0
// when it is unknown or expired, etcd's answer). Writes go out one at a time from a queue: a
// read may complete while a write is in flight (OnReadDone and OnWriteDone can run at once on
// different threads), so the queue and the flags are under mu_, and StartWrite/Finish are called
// outside it. While kMaxQueued responses wait, no further request is read (a client that never
// reads its answers cannot make the queue grow without bound). The stream is finished once
// reading has stopped and the queue is drained; gRPC then calls OnDone, which deletes the
// reactor.
class KeepAliveStream final : public KeepAliveReactor {
 public:
  explicit KeepAliveStream(server::Node& node) : node_(node) { StartRead(&request_); }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client half-closed, or the call is gone
      stop_reading(grpc::Status::OK);
      return;
    }
    // A request etcd could not have unmarshalled ends the stream with etcd's answer.
    if (grpc::Status misencoded = check_wire_types(request_, kStreamUnmarshalPrefix); !misencoded.ok()) {
      stop_reading(std::move(misencoded));
      return;
    }
    // The next read starts once this renewal is answered (one at a time, as etcd's recvLoop):
    // from a follower it is a call to the leader, answered on another thread.
    const int64_t id = request_.id();
    node_.renew_lease(id, [this, id](Result<int64_t> ttl) { renewed(id, std::move(ttl)); });
  }

  void renewed(int64_t id, Result<int64_t> ttl) {
    if (!ttl.ok() && !ttl.status().is_not_found()) {
      // Not the leader's lessor (no leader yet, or leadership moved): end the stream, as etcd
      // ends it when it cannot reach a leader.
      // The lessor's own "not a primary lessor" reads to clients as etcd's "no leader".
      const bool etcd_text = ttl.status().message().rfind("etcdserver: ", 0) == 0;
      grpc::Status err = ttl.status().code() == Status::Code::kUnavailable && !etcd_text
                             ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: no leader")
                             : to_grpc_status(ttl.status());
      stop_reading(std::move(err));
      return;
    }
    etcdserverpb::LeaseKeepAliveResponse response;
    response.set_id(id);
    response.set_ttl(ttl.ok() ? *ttl : 0);
    fill_header(node_.header(), response.mutable_header());
    const etcdserverpb::LeaseKeepAliveResponse* to_write = nullptr;
    bool read_next = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!write_failed_) queue_.push_back(std::move(response));
      if (!writing_ && !queue_.empty()) {
        writing_ = true;
        to_write = &queue_.front();
      }
      // A client that sends without reading: stop reading until the queue drains.
      if (queue_.size() >= kMaxQueued) {
        read_paused_ = true;
        read_next = false;
      }
    }
    if (to_write != nullptr) StartWrite(to_write);
    // request_ has been consumed; the next read may overwrite it.
    if (read_next) StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    const etcdserverpb::LeaseKeepAliveResponse* to_write = nullptr;
    bool read_next = false;
    bool finish = false;
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.pop_front();
      writing_ = false;
      if (!ok) {  // the call is broken; a pending read fails too
        write_failed_ = true;
        queue_.clear();
        if (read_paused_) {  // no read pending: nothing else will end the stream
          read_paused_ = false;
          reading_done_ = true;
        }
      }
      if (!queue_.empty()) {
        writing_ = true;
        to_write = &queue_.front();
      }
      if (read_paused_ && queue_.size() < kMaxQueued / 2) {
        read_paused_ = false;
        read_next = true;
      }
      if (to_write == nullptr) finish = take_finish(&status);
    }
    if (to_write != nullptr) StartWrite(to_write);
    if (read_next) StartRead(&request_);
    if (finish) Finish(std::move(status));
  }

  void OnDone() override { delete this; }

 private:
  // No more reads: finish now if no write is in flight, else once the queue drains.
  void stop_reading(grpc::Status status) {
    bool finish = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      reading_done_ = true;
      status_ = std::move(status);
      if (!writing_) finish = take_finish(&status);
    }
    if (finish) Finish(std::move(status));
  }

  // Under mu_: whether the stream is to be finished now (once only), with *status.
  bool take_finish(grpc::Status* status) {
    if (!reading_done_ || writing_ || finished_) return false;
    finished_ = true;
    *status = status_;
    return true;
  }

  static constexpr size_t kMaxQueued = 64;  // responses waiting to be written

  server::Node& node_;
  etcdserverpb::LeaseKeepAliveRequest request_;  // the read in flight (one at a time)

  std::mutex mu_;
  std::deque<etcdserverpb::LeaseKeepAliveResponse> queue_;  // front: the write in flight
  bool writing_ = false;
  bool write_failed_ = false;
  bool read_paused_ = false;  // no read in flight until the queue drains
  bool reading_done_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace

grpc::ServerUnaryReactor* LeaseService::LeaseGrant(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::LeaseGrantRequest* request,
                                                   etcdserverpb::LeaseGrantResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->ttl() > lease::kMaxLeaseTtl) {
    reactor->Finish(to_grpc_status(lease::ErrLeaseTtlTooLarge()));
    return reactor;
  }
  node_.propose(server::LeaseGrantRequest{request->ttl(), request->id()},
                [this, reactor, response](Result<server::WriteResult> r) {
                  if (!r.ok()) return reactor->Finish(to_grpc_status(r.status()));
                  const auto* answer = std::get_if<lease::LeaseGrantResponse>(&*r);
                  if (answer == nullptr) {
                    return reactor->Finish(
                        grpc::Status(grpc::StatusCode::INTERNAL, "unexpected answer"));
                  }
                  response->set_id(answer->id);
                  response->set_ttl(answer->ttl);
                  response->mutable_header()->set_revision(answer->revision);
                  fill_header(node_.header(), response->mutable_header());
                  reactor->Finish(grpc::Status::OK);
                });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseRevoke(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseRevokeRequest* request,
                                                    etcdserverpb::LeaseRevokeResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  node_.propose(server::LeaseRevokeRequest{request->id()},
                [this, reactor, response](Result<server::WriteResult> r) {
                  if (!r.ok()) return reactor->Finish(to_grpc_status(r.status()));
                  const auto* answer = std::get_if<lease::LeaseRevokeResponse>(&*r);
                  if (answer == nullptr) {
                    return reactor->Finish(
                        grpc::Status(grpc::StatusCode::INTERNAL, "unexpected answer"));
                  }
                  response->mutable_header()->set_revision(answer->revision);
                  fill_header(node_.header(), response->mutable_header());
                  reactor->Finish(grpc::Status::OK);
                });
  return reactor;
}

grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>*
LeaseService::LeaseKeepAlive(grpc::CallbackServerContext* /*context*/) {
  if (node_.is_learner()) {
    return new RefusedStream<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>;
  }
  return new KeepAliveStream(node_);
}

grpc::ServerUnaryReactor* LeaseService::LeaseTimeToLive(
    grpc::CallbackServerContext* context, const etcdserverpb::LeaseTimeToLiveRequest* request,
    etcdserverpb::LeaseTimeToLiveResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const int64_t id = request->id();
  const bool with_keys = request->keys();
  node_.lease_time_to_live(id, with_keys, [this, reactor, response, id](Result<lease::LeaseTimeToLiveResponse> got) {
    if (!got.ok()) return reactor->Finish(to_grpc_status(got.status()));
    response->set_id(id);
    response->set_ttl(got->ttl);
    response->set_grantedttl(got->granted_ttl);
    for (std::string& k : got->keys) response->add_keys(std::move(k));
    fill_header(node_.header(), response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* LeaseService::LeaseLeases(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::LeaseLeasesRequest* request,
                                                    etcdserverpb::LeaseLeasesResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  for (int64_t id : node_.leases()) response->add_leases()->set_id(id);
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace keel::grpcsvc
