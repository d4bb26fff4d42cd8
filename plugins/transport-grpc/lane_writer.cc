#include "lane_writer.h"

#include <algorithm>
#include <chrono>

#include "channels.h"

namespace keel::grpc_transport {

namespace {

constexpr std::chrono::milliseconds kFirstRetry{50};
constexpr std::chrono::milliseconds kMaxRetry{1000};

}  // namespace

LaneWriter::LaneWriter(TransportContext& ctx, MemberId peer, Lane lane, std::vector<PeerUrl> urls)
    : ctx_(ctx),
      peer_(peer),
      lane_(lane),
      max_frames_(ctx.options.max_queued_frames_per_peer),
      max_bytes_(ctx.options.max_queued_bytes_per_peer),
      batch_bytes_(ctx.batch_bytes()),
      urls_(std::move(urls)),
      thread_([this] { run(); }) {}

bool LaneWriter::enqueue(std::string&& frame) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return true;  // dropped quietly: the transport is going away
    if (queue_.size() >= max_frames_ || queued_bytes_ + frame.size() > max_bytes_) return false;
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    wake = queue_.size() == 1;  // the writer only sleeps on an empty queue
  }
  if (wake) cv_.notify_all();
  return true;
}

void LaneWriter::set_urls(std::vector<PeerUrl> urls) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    urls_ = std::move(urls);
    ++generation_;
    if (call_ != nullptr) call_->TryCancel();
  }
  cv_.notify_all();
}

void LaneWriter::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    if (call_ != nullptr) call_->TryCancel();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LaneWriter::run() {
  std::chrono::milliseconds delay = kFirstRetry;
  std::unique_ptr<pb::Peer::Stub> stub;  // and its channel: kept while the URL stays
  uint64_t channel_generation = 0;
  size_t url_index = 0;
  for (;;) {
    PeerUrl url;
    uint64_t generation;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      if (stub == nullptr || channel_generation != generation_) {
        stub.reset();
        channel_generation = generation_;
        url_index %= urls_.size();
      }
      generation = generation_;
      url = urls_[url_index % urls_.size()];
    }
    if (stub == nullptr) stub = pb::Peer::NewStub(make_channel(url));
    Outcome out = stream_once(*stub, url, generation);
    if (out.moved) {
      delay = kFirstRetry;
      continue;
    }
    handle_failure(out, url);
    if (out.accepted) delay = kFirstRetry;  // it worked a while: try again soon
    // With several URLs, the next attempt goes to the next one, on a channel of its own.
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (urls_.size() > 1) {
        ++url_index;
        stub.reset();
      }
    }
    if (ctx_.stopping()) return;
    ctx_.handler().on_unreachable(peer_);
    pause(delay, generation);
    delay = std::min(delay * 2, kMaxRetry);
  }
}

LaneWriter::Outcome LaneWriter::stream_once(pb::Peer::Stub& stub, const PeerUrl& url,
                                            uint64_t generation) {
  Outcome out;
  grpc::ClientContext call;
  add_identity(call, {ctx_.options.cluster_id, ctx_.options.local_id, peer_});
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || generation != generation_) {
      out.moved = true;
      return out;
    }
    call_ = &call;
  }
  pb::StreamEnd reply;
  std::unique_ptr<grpc::ClientWriter<pb::FrameBatch>> writer =
      lane_ == Lane::kControl ? stub.Control(&call, &reply) : stub.Bulk(&call, &reply);
  writer->WaitForInitialMetadata();
  if (accepted(call)) {
    out.accepted = true;
    if (down_logged_) {
      ctx_.log(LogLevel::kInfo, "reached member " + hex(peer_) + " again at " + url.text + " (" +
                                    lane_name(lane_) + " lane)");
    } else {
      ctx_.log(LogLevel::kInfo, "connected to member " + hex(peer_) + " at " + url.text + " (" +
                                    lane_name(lane_) + " lane)");
    }
    down_logged_ = false;
    pb::FrameBatch batch;
    while (take_batch(&batch, generation)) {
      if (!writer->Write(batch)) break;
      batch.Clear();  // keeps the frame strings' slots for the next batch
    }
  }
  out.status = writer->Finish();
  {
    std::lock_guard<std::mutex> lock(mu_);
    call_ = nullptr;
    out.moved = stopping_ || generation != generation_;
  }
  return out;
}

bool LaneWriter::take_batch(pb::FrameBatch* batch, uint64_t generation) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return stopping_ || generation != generation_ || !queue_.empty(); });
  if (stopping_ || generation != generation_) return false;
  size_t bytes = 0;
  while (!queue_.empty()) {
    std::string& frame = queue_.front();
    const size_t cost = frame.size() + kFrameOverhead;
    if (batch->frames_size() > 0 && bytes + cost > batch_bytes_) break;
    bytes += cost;
    queued_bytes_ -= frame.size();
    batch->add_frames(std::move(frame));
    queue_.pop_front();
  }
  return true;
}

void LaneWriter::handle_failure(const Outcome& out, const PeerUrl& url) {
  const std::string who = "member " + hex(peer_) + " at " + url.text + " (" + lane_name(lane_) +
                          " lane)";
  const grpc::StatusCode code = out.status.error_code();
  if (code == grpc::StatusCode::FAILED_PRECONDITION) {
    ctx_.log(LogLevel::kError, who + " refused us, member " + hex(ctx_.options.local_id) +
                                   " of cluster " + hex(ctx_.options.cluster_id) + ": " +
                                   out.status.error_message());
    std::lock_guard<std::mutex> lock(mu_);
    queue_.clear();
    queued_bytes_ = 0;
    return;
  }
  if (code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    ctx_.log(LogLevel::kWarn, who + " refused a message over its size limit (the frames in it are "
                                    "lost; reconnecting): " + out.status.error_message());
    return;
  }
  if (out.accepted) {
    ctx_.log(LogLevel::kInfo, "lost " + who + ": " + out.status.error_message());
    down_logged_ = true;
  } else if (!down_logged_) {
    ctx_.log(LogLevel::kInfo, "cannot reach " + who + ": " + out.status.error_message() +
                                  " (retrying)");
    down_logged_ = true;
  }
}

void LaneWriter::pause(std::chrono::milliseconds delay, uint64_t generation) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, delay, [&] { return stopping_ || generation != generation_; });
}

}  // namespace keel::grpc_transport
