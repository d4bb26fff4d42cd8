// The asking end of introductions (keel/transport.h: Transport::introduce): each one a unary call
// of Peer.Introduce on a channel (and connection) of its own to the URL, without keel's identity
// metadata, with the caller's timeout as its deadline and fail-fast (nothing listening is
// UNAVAILABLE at once, not a wait for the deadline).
//
// gRPC reports a call's end on its own threads; the call's `done` runs on the notifier thread,
// which then lets go of the call and its channel: a channel whose last reference goes on one of
// gRPC's threads can deadlock gRPC (it joins the thread it runs on). gRPC status codes map onto
// keel's: the receiver's reply carries its handler's Status as is; CANCELLED once stop() has begun
// is Cancelled; RESOURCE_EXHAUSTED (a question or answer over a size limit) stays so; any other
// failure of the call is Unavailable, naming it.
//
// stop() cancels every call in flight and returns once each `done` has run.
//
// Thread safety: every method may be called from any thread, but stop() not from a `done`.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_INTRODUCER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_INTRODUCER_H_

#include <grpcpp/support/status.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/peer_url.h"
#include "keel/status.h"
#include "transport_context.h"

namespace keel::grpc_transport {

class Introducer {
 public:
  explicit Introducer(TransportContext& ctx) : ctx_(ctx) {}
  ~Introducer() { stop(); }
  Introducer(const Introducer&) = delete;
  Introducer& operator=(const Introducer&) = delete;

  // Asks `url` `question`; `done` is taken and called once, from the notifier thread. False (and
  // `done` left in place, not called) once stop() has begun.
  bool start(const PeerUrl& url, std::string question, std::chrono::milliseconds timeout,
             std::function<void(Result<std::string>)>& done);
  // Cancels every call in flight and waits until each `done` has run. Idempotent.
  void stop();

 private:
  struct Call;
  // gRPC's report of `call`'s end, on one of its threads (or the caller's, for a call that fails
  // as it starts).
  void finished(Call* call, const grpc::Status& status);
  Result<std::string> result_of(Call& call, const grpc::Status& status);
  // Runs `call`'s `done` with `result` and takes the call out of calls_; dropped here unless this
  // is one of gRPC's threads.
  void complete(Call* call, Result<std::string> result, bool on_grpc_thread);

  TransportContext& ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<Call*, std::shared_ptr<Call>> calls_;  // started, `done` not yet run
  std::vector<std::shared_ptr<Call>> ended_;      // to let go of off gRPC's threads, by stop()
  bool stopping_ = false;
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_INTRODUCER_H_
