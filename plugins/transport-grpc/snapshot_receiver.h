// The receiving end of one snapshot (Peer.Snapshot): a gRPC callback reactor whose reads are
// driven by the handler. The handler runs on a worker thread of its own (a slow one never holds
// up gRPC's threads, which deliver the frames) and reads the stream through this object's
// ByteSource face: each read() that finds no bytes left asks gRPC for the next chunk and waits for
// it, so nothing is read ahead of the handler and gRPC's flow control makes the sender wait.
//
// The stream ends cleanly only at the chunk marked `last`; a stream cut before it (the sender
// stopped, the connection broke, the server is stopping) makes read() fail. When the handler
// returns, its Status goes back in the reply and the call is finished.
//
// Lifetime: made by PeerService; deletes itself when gRPC says the call is done, which comes
// after the worker's Finish(), its last touch of this object.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_RECEIVER_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_RECEIVER_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <condition_variable>
#include <mutex>
#include <string>

#include "call_identity.h"
#include "keel/byte_stream.h"
#include "transport_context.h"
#include "worker_threads.h"

namespace keel::grpc_transport {

class SnapshotReceiver final : public grpc::ServerReadReactor<pb::SnapshotChunk>,
                               private ByteSource {
 public:
  // Accepts `call` from `from` and runs the handler on a thread of `workers`; refuses the call
  // with UNAVAILABLE when no thread is free.
  SnapshotReceiver(TransportContext& ctx, WorkerThreads& workers,
                   grpc::CallbackServerContext* call, pb::SnapshotReply* reply, MemberId from);

  void OnReadDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  // The worker thread's job: read the metadata, run the handler, answer.
  void serve();
  // Reads the next chunk; false if the stream was cut before one came.
  bool next_chunk(std::unique_lock<std::mutex>& lock);
  Result<size_t> read(char* buf, size_t n) override;

  TransportContext& ctx_;
  pb::SnapshotReply* const reply_;
  const MemberId from_;

  std::mutex mu_;
  std::condition_variable cv_;
  pb::SnapshotChunk chunk_;  // the message being read
  std::string metadata_;
  std::string data_;         // the current chunk's bytes, swapped out of chunk_
  size_t offset_ = 0;        // how much of data_ the handler has read
  uint64_t received_ = 0;    // data bytes received in all
  bool reading_ = false;     // a read is outstanding
  bool first_ = true;        // the next chunk is the metadata
  bool ended_ = false;       // the `last` chunk came
  bool cut_ = false;         // a read failed before it
};

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_SNAPSHOT_RECEIVER_H_
