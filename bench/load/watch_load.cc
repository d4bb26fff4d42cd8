#include "watch_load.h"

#include <thread>

#include "kv_load.h"

namespace keel::bench {

// One Watch stream. Its callbacks run on its completion queue's thread, one at a time; it keeps
// one Read outstanding from the start and writes its create requests one after another (gRPC
// allows one read and one write in flight on a stream).
class WatchLoad::Stream {
 public:
  Stream(WatchLoad& load, etcdserverpb::Watch::Stub& stub, grpc::CompletionQueue* cq, Stats& stats)
      : load_(load), stub_(stub), cq_(cq), stats_(stats) {
    start_tag_.done = [this](bool ok) { on_start(ok); };
    write_tag_.done = [this](bool ok) { on_write(ok); };
    read_tag_.done = [this](bool ok) { on_read(ok); };
    finish_tag_.done = [this](bool) { load_.finished_.fetch_add(1, std::memory_order_relaxed); };
    auto* create = request_.mutable_create_request();
    create->set_key(load.key_);
  }

  void start() {
    load_.conns_.prepare(ctx_);
    rpc_ = stub_.PrepareAsyncWatch(&ctx_, cq_);
    rpc_->StartCall(&start_tag_);
  }
  void cancel() { ctx_.TryCancel(); }

 private:
  void on_start(bool ok) {
    if (!ok) {
      fail("the stream did not start");
      rpc_->Finish(&status_, &finish_tag_);
      return;
    }
    reading_ = true;
    rpc_->Read(&reply_, &read_tag_);
    write_next();
  }

  void write_next() {
    if (creates_sent_ == load_.o_.watchers_per_stream) return;
    ++creates_sent_;
    writing_ = true;
    rpc_->Write(request_, &write_tag_);
  }

  void on_write(bool ok) {
    writing_ = false;
    if (ok) {
      write_next();
    } else {
      maybe_finish();  // the stream is broken; the read reports how
    }
  }

  void on_read(bool ok) {
    if (!ok) {
      reading_ = false;
      maybe_finish();
      return;
    }
    const auto now = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    if (reply_.created()) load_.created_.fetch_add(1, std::memory_order_relaxed);
    if (reply_.canceled()) fail("watch canceled by the server: " + reply_.cancel_reason());
    for (const auto& ev : reply_.events()) {
      const uint64_t sent = value_timestamp(ev.kv().value());
      stats_.latency.record(now > sent ? now - sent : 0);
      ++stats_.events;
    }
    load_.events_.fetch_add(static_cast<uint64_t>(reply_.events_size()), std::memory_order_relaxed);
    rpc_->Read(&reply_, &read_tag_);
  }

  // Finish may be called only with nothing else outstanding on the stream.
  void maybe_finish() {
    if (reading_ || writing_ || finishing_) return;
    finishing_ = true;
    rpc_->Finish(&status_, &finish_tag_);
  }

  void fail(const std::string& why) {
    stats_.error(why);
    if (load_.failed_.fetch_add(1) == 0) load_.first_failure_ = why;
  }

  WatchLoad& load_;
  etcdserverpb::Watch::Stub& stub_;
  grpc::CompletionQueue* cq_;
  Stats& stats_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>> rpc_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse reply_;
  grpc::Status status_;
  Tag start_tag_, write_tag_, read_tag_, finish_tag_;
  int creates_sent_ = 0;
  bool reading_ = false, writing_ = false, finishing_ = false;
};

WatchLoad::WatchLoad(const Options& o, std::string key, Connections& conns, Pollers& pollers, RunStats& stats)
    : o_(o), conns_(conns), key_(std::move(key)) {
  for (int i = 0; i < o.streams; ++i) {
    const int q = pollers.index(i);
    streams_.push_back(std::make_unique<Stream>(*this, conns.watch(i), pollers.queue(q),
                                                stats.per_queue[static_cast<size_t>(q)]));
  }
}

WatchLoad::~WatchLoad() = default;

uint64_t WatchLoad::watchers() const {
  return static_cast<uint64_t>(o_.streams) * static_cast<uint64_t>(o_.watchers_per_stream);
}

Status WatchLoad::open(double timeout_s) {
  for (auto& s : streams_) s->start();
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (created_.load() < watchers()) {
    if (failed_.load() > 0) return Status::Unavailable("a watch failed: " + first_failure_);
    if (Clock::now() > deadline) {
      return Status::DeadlineExceeded(std::to_string(created_.load()) + " of " + std::to_string(watchers()) +
                                      " watches created within " + std::to_string(timeout_s) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::OK();
}

void WatchLoad::close(double timeout_s) {
  for (auto& s : streams_) s->cancel();
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (finished_.load() < streams_.size() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace keel::bench
