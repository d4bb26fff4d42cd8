#include "introducer.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <exception>

#include "call_identity.h"
#include "channels.h"

namespace keel::grpc_transport {

struct Introducer::Call {
  PeerUrl url;
  std::function<void(Result<std::string>)> done;
  std::unique_ptr<pb::Peer::Stub> stub;  // holds the channel
  grpc::ClientContext context;
  pb::Introduction request;
  pb::IntroductionReply reply;
};

namespace {

// A keel code sent by the receiver, checked before it is cast into the enum.
Status status_from_reply(uint32_t code, std::string message) {
  const bool known = (code >= 1 && code <= 16) || code == static_cast<uint32_t>(Status::Code::kIOError);
  if (!known) return Status::Unknown("code " + std::to_string(code) + ": " + message);
  return Status(static_cast<Status::Code>(code), std::move(message));
}

}  // namespace

bool Introducer::start(const PeerUrl& url, std::string question, std::chrono::milliseconds timeout,
                       std::function<void(Result<std::string>)>& done) {
  auto call = std::make_shared<Call>();
  call->url = url;
  call->request.set_question(std::move(question));
  // A day is forever here, and keeps now() + timeout from overflowing.
  timeout = std::clamp<std::chrono::milliseconds>(timeout, std::chrono::milliseconds::zero(),
                                                  std::chrono::hours(24));
  call->context.set_deadline(std::chrono::system_clock::now() + timeout);
  // The asker bounds an answer as a receiver bounds a frame: by its own max_frame_bytes.
  call->stub = pb::Peer::NewStub(make_channel(url, ctx_.options.max_frame_bytes + kMessageOverhead));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
    calls_.emplace(call.get(), call);
    call->done = std::move(done);  // last: nothing after it throws, so a caller's catch has it
  }
  // Outside the lock: a call that fails as it starts may report its end on this very thread. A
  // stop() that came in between has cancelled the context already, and gRPC cancels the call as
  // it starts.
  Call* raw = call.get();
  call->stub->async()->Introduce(&call->context, &call->request, &call->reply,
                                 [this, raw](grpc::Status s) { finished(raw, s); });
  return true;
}

Result<std::string> Introducer::result_of(Call& call, const grpc::Status& status) {
  const std::string who = "transport-grpc: introduction to " + call.url.text;
  if (status.ok()) {
    if (call.reply.code() == 0) return std::move(*call.reply.mutable_answer());
    return status_from_reply(call.reply.code(), std::move(*call.reply.mutable_message()));
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED && ctx_.stopping()) {
    return Status::Cancelled(who + ": the transport stopped first");
  }
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return Status::ResourceExhausted(who + ": " + status.error_message());
  }
  return Status::Unavailable(who + ": " + from_grpc(status, "the call failed").to_string());
}

void Introducer::finished(Call* call, const grpc::Status& status) {
  // `call` lives on in calls_ until complete() takes it out; this thread holds no reference, so
  // the last one is never let go of here.
  Result<std::string> result = Status::Internal("transport-grpc: introduction: out of memory");
  try {
    result = result_of(*call, status);
  } catch (const std::exception& e) {
    result = Status::Internal(std::string("transport-grpc: introduction: ") + e.what());
  }
  auto shared = std::make_shared<Result<std::string>>(std::move(result));
  if (ctx_.notifier.post([this, call, shared] { complete(call, std::move(*shared), false); })) return;
  // Not reached while the transport keeps its order (this stops before the notifier); kept so a
  // `done` is never lost.
  complete(call, std::move(*shared), true);
}

void Introducer::complete(Call* call, Result<std::string> result, bool on_grpc_thread) {
  std::function<void(Result<std::string>)> done = std::move(call->done);
  done(std::move(result));
  std::shared_ptr<Call> last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = calls_.find(call);
    last = std::move(it->second);
    calls_.erase(it);
    if (on_grpc_thread) ended_.push_back(last);  // stop() lets go of it
    cv_.notify_all();
  }
}

void Introducer::stop() {
  std::vector<std::shared_ptr<Call>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& [raw, call] : calls_) live.push_back(call);
  }
  // Without the lock: a cancelled call may report its end on this thread.
  for (auto& call : live) call->context.TryCancel();
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return calls_.empty(); });
  ended_.clear();
}

}  // namespace keel::grpc_transport
