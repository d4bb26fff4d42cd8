#include "snapshot_sender.h"

#include "channels.h"

namespace keel::grpc_transport {

bool SnapshotSender::start(Job& job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return false;
  }
  // The job moves into the thread only if one starts; otherwise the caller keeps it.
  auto owned = std::make_shared<Job>(std::move(job));
  bool started = workers_.start([this, owned] {
    Status s = send(*owned);
    if (!s.ok() && ctx_.stopping()) {
      s = Status::Cancelled("transport-grpc: stopped while sending a snapshot to member " +
                            hex(owned->to) + " (" + s.message() + ")");
    }
    owned->done(std::move(s));
    owned->data.reset();
  });
  if (!started) job = std::move(*owned);
  return started;
}

void SnapshotSender::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    for (grpc::ClientContext* call : calls_) call->TryCancel();
  }
  workers_.join_all();
}

bool SnapshotSender::track(grpc::ClientContext* call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  calls_.insert(call);
  return true;
}

void SnapshotSender::untrack(grpc::ClientContext* call) {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.erase(call);
}

Status SnapshotSender::send(Job& job) {
  Status last;
  for (const PeerUrl& url : job.urls) {
    bool reached = false;
    last = send_to(job, url, &reached);
    if (reached || ctx_.stopping()) return last;
  }
  return last;
}

Status SnapshotSender::send_to(const Job& job, const PeerUrl& url, bool* reached) {
  const std::string who = "member " + hex(job.to) + " at " + url.text;
  grpc::ClientContext call;
  add_identity(call, {ctx_.options.cluster_id, ctx_.options.local_id, job.to});
  if (!track(&call)) return Status::Cancelled("transport-grpc: stopping");
  std::unique_ptr<pb::Peer::Stub> stub = pb::Peer::NewStub(make_channel(url));
  pb::SnapshotReply reply;
  std::unique_ptr<grpc::ClientWriter<pb::SnapshotChunk>> writer = stub->Snapshot(&call, &reply);
  writer->WaitForInitialMetadata();
  Status source_error;
  if (accepted(call)) {
    *reached = true;
    ctx_.log(LogLevel::kInfo, "sending a snapshot to " + who);
    pb::SnapshotChunk chunk;
    chunk.set_metadata(job.metadata);
    bool ok = writer->Write(chunk);
    chunk.clear_metadata();
    const size_t size = ctx_.settings.snapshot_chunk_bytes;
    while (ok) {
      std::string* data = chunk.mutable_data();
      data->resize(size);
      Result<size_t> n = job.data->read(data->data(), size);
      if (!n.ok()) {
        source_error = n.status();
        call.TryCancel();  // the receiver's read fails: the stream was cut, not complete
        break;
      }
      data->resize(*n);
      if (*n == 0) {
        chunk.set_last(true);
        ok = writer->Write(chunk) && writer->WritesDone();
        break;
      }
      ok = writer->Write(chunk);
    }
  }
  grpc::Status status = writer->Finish();
  untrack(&call);
  if (!source_error.ok()) {
    return source_error.with_context("transport-grpc: reading the snapshot for " + who);
  }
  if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    ctx_.log(LogLevel::kError, who + " refused a snapshot from member " +
                                   hex(ctx_.options.local_id) + " of cluster " +
                                   hex(ctx_.options.cluster_id) + ": " + status.error_message());
  }
  if (!status.ok()) return from_grpc(status, "transport-grpc: sending a snapshot to " + who);
  if (!*reached) return Status::Unavailable("transport-grpc: " + who + " did not take the snapshot");
  return Status(static_cast<Status::Code>(reply.code()), reply.message());
}

}  // namespace keel::grpc_transport
