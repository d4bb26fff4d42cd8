// The sending end of snapshots: each on a worker thread of its own and a call (and connection) of
// its own, beside the lanes. The thread reads the source one chunk at a time and writes it; gRPC's
// Write returns once flow control lets the chunk go, so the source is read at the receiver's pace
// and never more than a chunk ahead of what the connection takes. The first message carries the
// metadata, the last one is marked `last`; the reply carries the receiving handler's Status,
// which becomes `done`'s. With several URLs, one that cannot be reached gives way to the next.
//
// stop() cancels every call (a thread blocked in Write returns at once), joins the threads (one
// blocked in its source's read() is waited for) and so every `done` has run when it returns,
// with Cancelled for what it cut.
//
// Thread safety: every method may be called from any thread.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_SENDER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_SENDER_H_

#include <grpcpp/client_context.h>

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "call_identity.h"
#include "keel/byte_stream.h"
#include "keel/peer_url.h"
#include "transport_context.h"
#include "worker_threads.h"

namespace keel::grpc_transport {

class SnapshotSender {
 public:
  explicit SnapshotSender(TransportContext& ctx)
      : ctx_(ctx), workers_(ctx.settings.max_snapshots) {}
  ~SnapshotSender() { stop(); }
  SnapshotSender(const SnapshotSender&) = delete;
  SnapshotSender& operator=(const SnapshotSender&) = delete;

  struct Job {
    MemberId to = 0;
    std::vector<PeerUrl> urls;
    std::string metadata;
    std::unique_ptr<ByteSource> data;
    std::function<void(Status)> done;
  };

  // Streams `job` on a thread of its own. False (and `job` is left as it was, done not called)
  // when max_snapshots are in flight already or stop() has begun.
  bool start(Job& job);
  // Cancels every snapshot in flight and waits until each `done` has run. Idempotent.
  void stop();

 private:
  Status send(Job& job);
  Status send_to(const Job& job, const PeerUrl& url, bool* reached);
  bool track(grpc::ClientContext* call);
  void untrack(grpc::ClientContext* call);

  TransportContext& ctx_;
  std::mutex mu_;
  std::set<grpc::ClientContext*> calls_;  // live calls, which stop() cancels
  bool stopping_ = false;
  WorkerThreads workers_;
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_SENDER_H_
