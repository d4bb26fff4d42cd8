#include "snapshot_receiver.h"

#include <algorithm>
#include <cstring>

namespace keel::grpc_transport {

SnapshotReceiver::SnapshotReceiver(TransportContext& ctx, WorkerThreads& workers,
                                   grpc::CallbackServerContext* call, pb::SnapshotReply* reply,
                                   MemberId from)
    : ctx_(ctx), reply_(reply), from_(from) {
  mark_accepted(*call);
  StartSendInitialMetadata();
  if (!workers.start([this] { serve(); })) {
    ctx_.log(LogLevel::kWarn, "refused a snapshot from member " + hex(from_) + ": " +
                                  std::to_string(ctx_.settings.max_snapshots) +
                                  " snapshots are being received already");
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "transport-grpc: too many snapshots in flight at member " +
                            hex(ctx_.options.local_id)));
  }
}

void SnapshotReceiver::serve() {
  Status result;
  bool got_metadata;
  {
    std::unique_lock<std::mutex> lock(mu_);
    got_metadata = next_chunk(lock);
  }
  if (!got_metadata) {
    result = Status::Unavailable("transport-grpc: the snapshot stream was cut before its metadata");
  } else if (ctx_.stopping()) {
    result = Status::Cancelled("transport-grpc: the receiver is stopping");
  } else {
    ctx_.log(LogLevel::kInfo, "receiving a snapshot from member " + hex(from_));
    result = ctx_.handler().on_snapshot(from_, metadata_, *this);
    ctx_.log(result.ok() ? LogLevel::kInfo : LogLevel::kWarn,
             "the snapshot from member " + hex(from_) + " (" + std::to_string(received_) +
                 " bytes received) ended: " + result.to_string());
  }
  reply_->set_code(static_cast<uint32_t>(result.code()));
  reply_->set_message(result.message());
  Finish(grpc::Status::OK);  // the last touch: OnDone may delete this at once
}

bool SnapshotReceiver::next_chunk(std::unique_lock<std::mutex>& lock) {
  if (cut_ || ended_) return false;
  reading_ = true;
  lock.unlock();
  StartRead(&chunk_);
  lock.lock();
  cv_.wait(lock, [&] { return !reading_; });
  return !cut_;
}

void SnapshotReceiver::OnReadDone(bool ok) {
  std::lock_guard<std::mutex> lock(mu_);
  reading_ = false;
  if (!ok) {
    cut_ = true;
  } else {
    if (first_) {
      metadata_.swap(*chunk_.mutable_metadata());
      first_ = false;
    }
    data_.swap(*chunk_.mutable_data());  // chunk_ keeps the old buffer for the next read
    offset_ = 0;
    received_ += data_.size();
    ended_ = chunk_.last();
  }
  cv_.notify_all();
}

Result<size_t> SnapshotReceiver::read(char* buf, size_t n) {
  std::unique_lock<std::mutex> lock(mu_);
  while (n > 0) {
    if (offset_ < data_.size()) {
      const size_t m = std::min(n, data_.size() - offset_);
      std::memcpy(buf, data_.data() + offset_, m);
      offset_ += m;
      return m;
    }
    if (ended_) return size_t{0};
    if (cut_ || !next_chunk(lock)) {
      return Status::Unavailable("transport-grpc: the snapshot stream from member " + hex(from_) +
                                 " was cut after " + std::to_string(received_) + " bytes");
    }
  }
  return size_t{0};
}

}  // namespace keel::grpc_transport
