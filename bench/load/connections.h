// Connections: the gRPC channels of a run and the completion-queue threads that drive them.
//
// Every channel gets channel arguments of its own (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL plus its
// index), because gRPC otherwise shares one subchannel, so one TCP connection, between channels
// to the same address, and --conns would measure nothing. Channels take the endpoints in turn.
//
// Every asynchronous operation is handed a Tag*; a poller thread calls tag->done(ok) when the
// queue returns it. Each completion queue has exactly one thread, so whatever a callback touches
// that belongs to its queue (Pollers::index) needs no lock.
#ifndef KEEL_BENCH_LOAD_CONNECTIONS_H_
#define KEEL_BENCH_LOAD_CONNECTIONS_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "etcdserverpb/rpc.grpc.pb.h"
#include "keel/status.h"

namespace keel::bench {

struct Tag {
  std::function<void(bool ok)> done;
};

class Connections {
 public:
  Connections(const std::vector<std::string>& endpoints, int conns);

  // Waits until every channel is connected; the first that is not by the deadline is an error.
  Status wait_connected(double timeout_s);
  // Authenticate as `user` ("name:password"); every context prepare() sees gets the token.
  Status authenticate(const std::string& user, double timeout_s);
  // Readies a context for a call: the auth token, when there is one.
  void prepare(grpc::ClientContext& ctx) const {
    if (!token_.empty()) ctx.AddMetadata("token", token_);
  }

  int size() const { return static_cast<int>(channels_.size()); }
  etcdserverpb::KV::Stub& kv(int i) { return *kv_[static_cast<size_t>(i % size())]; }
  etcdserverpb::Watch::Stub& watch(int i) { return *watch_[static_cast<size_t>(i % size())]; }
  etcdserverpb::Lease::Stub& lease(int i) { return *lease_[static_cast<size_t>(i % size())]; }

 private:
  std::vector<std::string> targets_;
  std::vector<std::shared_ptr<grpc::Channel>> channels_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> watch_;
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> lease_;
  std::string token_;
};

// Pollers: n completion queues, one thread each, running until shutdown().
// REQUIRES: shutdown() is called only when no operation is outstanding on any queue.
class Pollers {
 public:
  explicit Pollers(int n);
  ~Pollers();
  Pollers(const Pollers&) = delete;
  Pollers& operator=(const Pollers&) = delete;

  int size() const { return static_cast<int>(queues_.size()); }
  grpc::CompletionQueue* queue(int i) { return queues_[static_cast<size_t>(i % size())].get(); }
  // Which queue a client of the given number uses.
  int index(int client) const { return client % size(); }
  void shutdown();

 private:
  std::vector<std::unique_ptr<grpc::CompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  bool shut_down_ = false;
};

// min(conns, hardware threads) when `threads` is 0.
int poller_count(int threads, int conns);

// A point of steady time as gRPC's deadlines take it (system clock).
std::chrono::system_clock::time_point to_deadline(std::chrono::steady_clock::time_point t);

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_CONNECTIONS_H_
