#include "connections.h"

#include <algorithm>
#include <cstdio>

namespace keel::bench {

Connections::Connections(const std::vector<std::string>& endpoints, int conns) {
  for (int i = 0; i < conns; ++i) {
    const std::string& target = endpoints[static_cast<size_t>(i) % endpoints.size()];
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("keel_bench.channel", i);
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
    targets_.push_back(target);
    kv_.push_back(etcdserverpb::KV::NewStub(channel));
    watch_.push_back(etcdserverpb::Watch::NewStub(channel));
    lease_.push_back(etcdserverpb::Lease::NewStub(channel));
    channels_.push_back(std::move(channel));
  }
}

Status Connections::wait_connected(double timeout_s) {
  const auto deadline = std::chrono::system_clock::now() +
                        std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6));
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%g", timeout_s);
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (!channels_[i]->WaitForConnected(deadline)) {
      return Status::Unavailable("cannot connect to " + targets_[i] + " (connection " +
                                 std::to_string(i) + ") within " + std::to_string(timeout_s) + " s");
    }
  }
  return Status::OK();
}

Status Connections::authenticate(const std::string& user, double timeout_s) {
  const size_t colon = user.find(':');
  etcdserverpb::AuthenticateRequest req;
  req.set_name(user.substr(0, colon));
  req.set_password(user.substr(colon + 1));
  etcdserverpb::AuthenticateResponse reply;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::microseconds(static_cast<int64_t>(timeout_s * 1e6)));
  auto stub = etcdserverpb::Auth::NewStub(channels_.front());
  grpc::Status s = stub->Authenticate(&ctx, req, &reply);
  if (!s.ok()) {
    return Status::Unauthenticated("Authenticate as " + req.name() + ": " + s.error_message());
  }
  token_ = reply.token();
  return Status::OK();
}

Pollers::Pollers(int n) {
  for (int i = 0; i < n; ++i) queues_.push_back(std::make_unique<grpc::CompletionQueue>());
  for (auto& q : queues_) {
    threads_.emplace_back([cq = q.get()] {
      void* tag = nullptr;
      bool ok = false;
      while (cq->Next(&tag, &ok)) static_cast<Tag*>(tag)->done(ok);
    });
  }
}

Pollers::~Pollers() { shutdown(); }

void Pollers::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  for (auto& q : queues_) q->Shutdown();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

int poller_count(int threads, int conns) {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, std::min(conns, cores));
}

std::chrono::system_clock::time_point to_deadline(std::chrono::steady_clock::time_point t) {
  const auto now = std::chrono::steady_clock::now();
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - now);
}

}  // namespace keel::bench
