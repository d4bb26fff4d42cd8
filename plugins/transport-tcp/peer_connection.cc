#include "peer_connection.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace keel::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff = 50ms;
constexpr std::chrono::milliseconds kMaxBackoff = 1s;
constexpr auto kHandshakeTimeout = 5s;
// One write gathers at most this much; frames below kCopyBelow are copied together with their
// headers into one buffer (fewer, larger iovecs), larger ones are written from where they lie.
constexpr size_t kMaxBatchFrames = 1024;
constexpr size_t kMaxBatchBytes = 1 << 20;
constexpr size_t kCopyBelow = 16 << 10;

}  // namespace

// One TCP connection attempt and what its pending operations read into. A new attempt gets a new
// object, so a late completion of an old one finds itself no longer current and does nothing.
struct PeerConnection::Attempt {
  Attempt(const asio::strand<asio::io_context::executor_type>& s, PeerUrl u)
      : socket(s), resolver(s), deadline(s), url(std::move(u)) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer deadline;
  const PeerUrl url;
  char preface[kPrefaceBytes];
  char answer[kAnswerHeaderBytes];
  std::string text;
  char stray = 0;  // the receiver never writes after its answer; a read completing means closed
  bool reported = false;
};

// Frames taken off the queue for one write, with their length headers.
struct PeerConnection::Batch {
  std::vector<std::string> frames;
  std::string staging;  // headers and small frames, back to back
  std::vector<asio::const_buffer> buffers;

  void build() {
    size_t staged = 0;
    for (const std::string& f : frames) staged += kFrameHeaderBytes + (f.size() < kCopyBelow ? f.size() : 0);
    staging.reserve(staged);  // no reallocation below: the buffers point into it
    size_t segment = 0;
    auto flush = [&] {
      if (staging.size() > segment) buffers.emplace_back(staging.data() + segment, staging.size() - segment);
      segment = staging.size();
    };
    for (const std::string& f : frames) {
      char header[kFrameHeaderBytes];
      put_u32(header, static_cast<uint32_t>(f.size()));
      staging.append(header, kFrameHeaderBytes);
      if (f.size() < kCopyBelow) {
        staging.append(f);
      } else {
        flush();
        buffers.emplace_back(f.data(), f.size());
      }
    }
    flush();
  }
};

PeerConnection::PeerConnection(TransportContext& ctx, MemberId peer, Lane lane,
                               std::vector<PeerUrl> urls)
    : ctx_(ctx),
      peer_(peer),
      lane_(lane),
      strand_(asio::make_strand(ctx.io)),
      urls_(std::move(urls)),
      retry_timer_(strand_),
      backoff_(kFirstBackoff) {}

std::string PeerConnection::what() const {
  return std::string(lane_ == Lane::kControl ? "control" : "bulk") + " connection to peer " +
         hex(peer_);
}

bool PeerConnection::enqueue(std::string& frame) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!accepting_ || queue_.size() >= ctx_.options.max_queued_frames_per_peer ||
      queued_bytes_ + frame.size() > ctx_.options.max_queued_bytes_per_peer) {
    return false;
  }
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  if (!writing_ && !kick_posted_) {
    kick_posted_ = true;
    asio::post(strand_, [self = shared_from_this()] { self->on_kick(); });
  }
  return true;
}

void PeerConnection::report_unreachable() {
  if (unreachable_pending_.exchange(true)) return;
  asio::post(ctx_.io, [self = shared_from_this()] {
    self->unreachable_pending_.store(false);
    if (!self->ctx_.stopped.load(std::memory_order_acquire)) {
      self->ctx_.handler().on_unreachable(self->peer_);
    }
  });
}

void PeerConnection::set_urls(std::vector<PeerUrl> urls) {
  asio::post(strand_, [self = shared_from_this(), urls = std::move(urls)]() mutable {
    if (self->closed_ || urls == self->urls_) return;
    self->urls_ = std::move(urls);
    self->next_url_ = 0;
    self->backoff_ = kFirstBackoff;
    if (self->current_) {
      self->ctx_.log(LogLevel::kInfo, self->what() + ": its URLs changed, reconnecting");
      error_code ignored;
      self->current_->socket.close(ignored);
      self->current_.reset();
      std::lock_guard<std::mutex> lock(self->mu_);
      self->writing_ = false;  // the batch in flight is lost with its connection
    }
    self->retry_timer_.cancel();
    self->state_ = State::kIdle;
    if (!self->queue_empty()) self->start_connect();
  });
}

void PeerConnection::close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    queue_.clear();
    queued_bytes_ = 0;
  }
  asio::post(strand_, [self = shared_from_this()] { self->close_on_strand(); });
}

void PeerConnection::close_now() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_ = false;
    queue_.clear();
    queued_bytes_ = 0;
  }
  close_on_strand();
}

void PeerConnection::close_on_strand() {
  if (closed_) return;
  closed_ = true;
  retry_timer_.cancel();
  if (current_) {
    if (state_ == State::kReady) ctx_.log(LogLevel::kInfo, what() + " closed");
    error_code ignored;
    current_->socket.close(ignored);
    current_->resolver.cancel();
    current_->deadline.cancel();
    current_.reset();
  }
  state_ = State::kIdle;
}

bool PeerConnection::queue_empty() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty();
}

void PeerConnection::drop_queue() {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.clear();
  queued_bytes_ = 0;
}

void PeerConnection::on_kick() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    kick_posted_ = false;
  }
  if (closed_) return;
  switch (state_) {
    case State::kIdle: start_connect(); break;
    case State::kReady: start_write(current_, /*continuing=*/false); break;
    case State::kConnecting:  // the handshake's end looks at the queue
    case State::kBackoff:     // so does the retry
      break;
  }
}

void PeerConnection::start_connect() {
  if (urls_.empty()) return;
  state_ = State::kConnecting;
  auto a = std::make_shared<Attempt>(strand_, urls_[next_url_ % urls_.size()]);
  current_ = a;
  auto self = shared_from_this();
  a->deadline.expires_after(kHandshakeTimeout);
  a->deadline.async_wait([self, a](const error_code& ec) {
    if (ec || a != self->current_ || self->state_ != State::kConnecting) return;
    self->fail(a, "no answer within " + std::to_string(kHandshakeTimeout.count()) + " s");
  });
  a->resolver.async_resolve(
      a->url.host, std::to_string(a->url.port),
      [self, a](const error_code& ec, const tcp::resolver::results_type& results) {
        if (a != self->current_) return;
        if (ec) return self->fail(a, "cannot resolve " + a->url.host + ": " + ec.message());
        asio::async_connect(a->socket, results, [self, a](const error_code& ec, const tcp::endpoint&) {
          if (a != self->current_) return;
          if (ec) return self->fail(a, "connect: " + ec.message());
          error_code ignored;
          a->socket.set_option(tcp::no_delay(true), ignored);
          encode_preface(Preface{kVersion, static_cast<uint8_t>(self->lane_), self->ctx_.options.cluster_id,
                                 self->ctx_.options.local_id, self->peer_},
                         a->preface);
          asio::async_write(a->socket, asio::buffer(a->preface), [self, a](const error_code& ec, size_t) {
            if (a != self->current_) return;
            if (ec) return self->fail(a, "sending the preface: " + ec.message());
            self->on_handshake_written(a);
          });
        });
      });
}

void PeerConnection::on_handshake_written(const std::shared_ptr<Attempt>& a) {
  auto self = shared_from_this();
  asio::async_read(a->socket, asio::buffer(a->answer), [self, a](const error_code& ec, size_t) {
    if (a != self->current_) return;
    if (ec) return self->fail(a, "reading the answer: " + ec.message());
    a->text.resize(get_u16(a->answer + 1));
    asio::async_read(a->socket, asio::buffer(a->text), [self, a](const error_code& ec, size_t) {
      if (a != self->current_) return;
      if (ec) return self->fail(a, "reading the answer: " + ec.message());
      self->on_answer(a);
    });
  });
}

void PeerConnection::on_answer(const std::shared_ptr<Attempt>& a) {
  const auto answer = static_cast<Answer>(a->answer[0]);
  if (answer == Answer::kOk) return on_ready(a);
  const bool mismatch = answer == Answer::kClusterIdMismatch || answer == Answer::kMemberIdMismatch;
  ctx_.log(mismatch ? LogLevel::kError : LogLevel::kWarn,
           "peer " + hex(peer_) + " at " + a->url.text + " refused our " +
               (lane_ == Lane::kControl ? "control" : "bulk") + " connection: " + a->text +
               " (local cluster ID " + hex(ctx_.options.cluster_id) + ", local member ID " +
               hex(ctx_.options.local_id) + ", meant for member ID " + hex(peer_) + ")");
  drop_queue();
  down_logged_ = true;  // said at error level already
  fail(a, "refused: " + a->text);
}

void PeerConnection::on_ready(const std::shared_ptr<Attempt>& a) {
  a->deadline.cancel();
  state_ = State::kReady;
  backoff_ = kFirstBackoff;
  down_logged_ = false;
  ctx_.log(LogLevel::kInfo, what() + " is up (" + a->url.text + ")");
  watch_for_close(a);
  start_write(a, /*continuing=*/false);
}

void PeerConnection::watch_for_close(const std::shared_ptr<Attempt>& a) {
  auto self = shared_from_this();
  a->socket.async_read_some(asio::buffer(&a->stray, 1), [self, a](const error_code& ec, size_t) {
    if (a != self->current_) return;
    self->fail(a, ec ? ec.message() : "the receiver wrote unexpected bytes");
  });
}

void PeerConnection::start_write(const std::shared_ptr<Attempt>& a, bool continuing) {
  auto batch = std::make_shared<Batch>();
  {
    std::lock_guard<std::mutex> lock(mu_);
    // One write at a time on a socket: a kick finding one in flight leaves it to its completion.
    if (writing_ && !continuing) return;
    size_t bytes = 0;
    while (!queue_.empty() && batch->frames.size() < kMaxBatchFrames &&
           (batch->frames.empty() || bytes + queue_.front().size() <= kMaxBatchBytes)) {
      bytes += queue_.front().size();
      batch->frames.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    queued_bytes_ -= bytes;
    writing_ = !batch->frames.empty();
    if (!writing_) return;
  }
  batch->build();
  auto self = shared_from_this();
  asio::async_write(a->socket, batch->buffers, [self, a, batch](const error_code& ec, size_t) {
    if (a != self->current_) return;
    if (ec) return self->fail(a, ec.message());
    self->start_write(a, /*continuing=*/true);
  });
}

void PeerConnection::fail(const std::shared_ptr<Attempt>& a, const std::string& why) {
  if (a != current_) return;
  if (state_ == State::kReady) {
    ctx_.log(LogLevel::kInfo, what() + " lost: " + why);
  } else if (!down_logged_) {
    ctx_.log(LogLevel::kWarn, what() + " at " + a->url.text + " failed: " + why);
  }
  down_logged_ = true;
  error_code ignored;
  a->socket.close(ignored);
  a->resolver.cancel();
  a->deadline.cancel();
  current_.reset();
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
  }
  if (!a->reported) {
    a->reported = true;
    report_unreachable();
  }
  ++next_url_;
  schedule_retry();
}

void PeerConnection::schedule_retry() {
  state_ = State::kBackoff;
  retry_timer_.expires_after(backoff_);
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
  retry_timer_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (ec || self->closed_ || self->state_ != State::kBackoff) return;
    self->state_ = State::kIdle;
    if (!self->queue_empty()) self->start_connect();
  });
}

}  // namespace keel::tcp
