// Watch: each gRPC stream is one WatchStream of the member's hub. Responses are written one at a
// time from a small queue; when the queue is full the sink refuses, and the hub keeps the watcher
// unsynced and catches it up from the store later, so a slow client costs bounded memory and
// never holds up the apply thread.
#include <deque>
#include <mutex>

#include "grpc/convert.h"
#include "grpc/learner_gate.h"
#include "grpc/wire_check.h"
#include "grpc/services.h"

namespace keel::grpcsvc {
namespace {

// Responses queued per stream before the sink refuses more (each holds at most one revision,
// or max_events_per_response events): etcd's chanBufLen, the channel its watchers of one stream
// share, so a revision seen by up to 128 watchers of a stream fits whole, as in etcd.
constexpr size_t kMaxQueuedResponses = 128;
// A response written while more wait behind it goes with gRPC's buffer hint, so that one
// revision's responses to a stream's watchers leave in one socket write rather than one each
// (Go's gRPC coalesces a stream's sends the same way). chttp2 completes a hinted write at once
// while the stream's unsent bytes stay under its write buffer (64 KiB); kept under a quarter of
// that, a hinted write never waits for a flush that only a later write would start.
constexpr size_t kMaxHintedBytes = 16 * 1024;

class WatchReactor final
    : public grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>,
      public WatchSink {
 public:
  explicit WatchReactor(server::Node& node) : node_(node) {
    Result<std::unique_ptr<WatchStream>> stream = node_.watch_hub().open_stream(this);
    if (!stream.ok()) {
      Finish(to_grpc_status(stream.status()));
      return;
    }
    stream_ = std::move(stream).value();
    StartRead(&request_);
  }

  // Called by the hub (under its lock, from any thread): must not block or call the hub.
  bool deliver(WatchResponse& response) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (finishing_) return true;  // the stream is going away; nothing more will be read
    if (queue_.size() >= kMaxQueuedResponses) return false;
    etcdserverpb::WatchResponse& out = queue_.emplace_back();
    out.set_watch_id(response.watch_id);
    out.set_created(response.created);
    out.set_canceled(response.canceled);
    out.set_compact_revision(response.compact_revision);
    out.set_cancel_reason(response.cancel_reason);
    out.set_fragment(response.fragment);
    for (const Event& e : response.events) to_proto(e, out.add_events());
    server::HeaderInfo header = node_.header();
    header.revision = response.revision;
    fill_header(header, out.mutable_header());
    if (writing_) return true;
    const Write next = take_write_locked();
    lock.unlock();
    StartWrite(next.message, next.options);
    return true;
  }

  void OnReadDone(bool ok) override {
    // Not ok: the client closed its side. As in etcd, the watchers go on until the call ends.
    if (!ok) return;
    // A request etcd could not have unmarshalled ends the stream with etcd's answer.
    if (grpc::Status misencoded = check_wire_types(request_, kStreamUnmarshalPrefix); !misencoded.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      finishing_ = true;
      end_status_ = std::move(misencoded);
      if (!writing_) finish_locked(end_status_);
      return;
    }
    handle(request_);
    request_.Clear();
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (!ok) {
      finishing_ = true;
      finish_locked(grpc::Status::CANCELLED);
      return;
    }
    if (finishing_) {
      finish_locked(end_status_);
      return;
    }
    if (queue_.empty()) return;
    const Write next = take_write_locked();
    lock.unlock();
    StartWrite(next.message, next.options);
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    finishing_ = true;
    if (!writing_) finish_locked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    // Nothing reaches this sink once close() returns; only then may it go.
    if (stream_) stream_->close();
    delete this;
  }

 private:
  void handle(const etcdserverpb::WatchRequest& r) {
    if (r.has_create_request()) {
      const etcdserverpb::WatchCreateRequest& c = r.create_request();
      WatchCreate w;
      w.key = c.key();
      w.range_end = c.range_end();
      w.start_revision = c.start_revision();
      w.progress_notify = c.progress_notify();
      for (int f : c.filters()) {
        if (f == etcdserverpb::WatchCreateRequest::NOPUT) w.filter_put = true;
        if (f == etcdserverpb::WatchCreateRequest::NODELETE) w.filter_delete = true;
      }
      w.prev_kv = c.prev_kv();
      w.fragment = c.fragment();
      w.watch_id = c.watch_id();
      Result<int64_t> id = stream_->create(w);
      if (!id.ok()) {
        // etcd answers a refused create on the stream: created and canceled, with the reason.
        WatchResponse refused;
        refused.watch_id = -1;
        refused.revision = node_.header().revision;
        refused.created = true;
        refused.canceled = true;
        refused.cancel_reason = id.status().message();
        deliver(refused);
      }
    } else if (r.has_cancel_request()) {
      // An unknown id is ignored, as etcd does; a known one gets its canceled response.
      (void)stream_->cancel(r.cancel_request().watch_id());
    } else if (r.has_progress_request()) {
      stream_->request_progress();
    }
  }

  struct Write {
    const etcdserverpb::WatchResponse* message;
    grpc::WriteOptions options;
  };

  // The queue's front, to be written by the caller once it has let go of mu_: StartWrite runs
  // gRPC's write path inline, and the hub (delivering to this stream's other watchers) must not
  // wait for it on mu_. The front stays put meanwhile: deliver() only appends (which moves no
  // element of a deque) and only OnWriteDone, after this write, pops.
  // REQUIRES: mu_ held, !writing_, !queue_.empty().
  Write take_write_locked() {
    writing_ = true;  // from here nothing finishes the call until this write is done
    Write next{&queue_.front(), grpc::WriteOptions()};
    if (queue_.size() > 1) {
      hinted_bytes_ += next.message->ByteSizeLong();
      if (hinted_bytes_ < kMaxHintedBytes) next.options.set_buffer_hint();
    }
    if (!next.options.get_buffer_hint()) hinted_bytes_ = 0;  // this write flushes what went before
    return next;
  }

  // REQUIRES: mu_ held, no write in flight.
  void finish_locked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    Finish(std::move(status));
  }

  server::Node& node_;
  std::unique_ptr<WatchStream> stream_;
  etcdserverpb::WatchRequest request_;

  std::mutex mu_;
  std::deque<etcdserverpb::WatchResponse> queue_;  // front: being written while writing_
  size_t hinted_bytes_ = 0;  // written with the buffer hint since the last flushing write
  bool writing_ = false;
  bool finishing_ = false;
  bool finished_ = false;
  grpc::Status end_status_ = grpc::Status::CANCELLED;  // what the stream ends with once finishing_
};

}  // namespace

grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>*
WatchService::Watch(grpc::CallbackServerContext*) {
  if (node_.is_learner()) return new RefusedStream<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>;
  return new WatchReactor(node_);
}

}  // namespace keel::grpcsvc
