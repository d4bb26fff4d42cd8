// The thread that calls the handler on behalf of callers that must not: send() runs on the Raft
// loop, which must never re-enter its own handler, so an unknown peer or a full queue is reported
// from here. It also runs the completions of snapshots refused before they started.
//
// Reports of one peer that wait together are told once: a burst of dropped frames is one report.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_NOTIFIER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_NOTIFIER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "keel/transport.h"

namespace keel::grpc_transport {

class Notifier {
 public:
  explicit Notifier(TransportHandler& handler);
  ~Notifier() { stop(); }
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Calls handler.on_unreachable(peer) soon, from the notifier's thread (dropped after stop()).
  void report_unreachable(MemberId peer);
  // Runs `task` on the notifier's thread; tasks still waiting at stop() run before it returns.
  // False (and `task` is not run) once stop() has begun.
  bool post(std::function<void()> task);
  // Runs the waiting tasks, drops the waiting reports, joins the thread. Idempotent.
  void stop();

 private:
  void run();

  TransportHandler& handler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<MemberId> unreachable_;  // reports waiting
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_NOTIFIER_H_
