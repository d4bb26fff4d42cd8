#include "inbound_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <exception>

#include "introduction.h"
#include "snapshot_stream.h"

namespace keel::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

namespace {
constexpr auto kPrefaceTimeout = 10s;
constexpr size_t kReadBuffer = 64 << 10;
}  // namespace

InboundConnection::InboundConnection(TransportContext& ctx, SnapshotThreads& snapshots,
                                     SnapshotThreads& introductions, tcp::socket socket)
    : ctx_(ctx),
      snapshots_(snapshots),
      introductions_(introductions),
      socket_(std::move(socket)),
      deadline_(socket_.get_executor()) {
  error_code ec;
  tcp::endpoint remote = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("?") : remote.address().to_string() + ":" + std::to_string(remote.port());
}

std::string InboundConnection::who() const {
  if (static_cast<ConnectionKind>(peer_.kind) == ConnectionKind::kIntroduce) {
    return "an introduction connection (from " + remote_ + ")";  // its ids mean nothing
  }
  return "member " + hex(peer_.sender_id) + "'s " + kind_name(static_cast<ConnectionKind>(peer_.kind)) +
         " connection (from " + remote_ + ")";
}

void InboundConnection::start() {
  auto self = shared_from_this();
  deadline_.expires_after(kPrefaceTimeout);
  deadline_.async_wait([self](const error_code& ec) {
    if (ec) return;
    error_code ignored;
    self->socket_.close(ignored);
  });
  asio::async_read(socket_, asio::buffer(preface_), [self](const error_code& ec, size_t) {
    self->deadline_.cancel();
    if (ec) {
      self->ctx_.log(LogLevel::kDebug, "a connection from " + self->remote_ +
                                           " closed before its preface: " + ec.message());
      return;
    }
    self->on_preface();
  });
}

void InboundConnection::close_now() {
  error_code ignored;
  socket_.close(ignored);
  deadline_.cancel();
}

void InboundConnection::on_preface() {
  const TransportOptions& o = ctx_.options;
  if (!decode_preface(preface_, &peer_)) {
    return refuse(Answer::kBadPreface, "not a keel transport-tcp preface");
  }
  if (peer_.version != kVersion || peer_.kind > static_cast<uint8_t>(ConnectionKind::kIntroduce)) {
    return refuse(Answer::kBadPreface, "unknown version " + std::to_string(peer_.version) +
                                           " or kind " + std::to_string(peer_.kind) +
                                           " (this member speaks version " +
                                           std::to_string(kVersion) + ")");
  }
  if (static_cast<ConnectionKind>(peer_.kind) == ConnectionKind::kIntroduce) {
    // Before the id checks: a joining member asks before it knows any id (keel/transport.h).
    TransportContext* ctx = &ctx_;
    SnapshotThreads* threads = &introductions_;
    return hand_to_thread(
        introductions_,
        [ctx, threads, remote = remote_](SnapshotThreads::Slot& slot, int fd) {
          try {
            answer_introduction(*ctx, *threads, slot, fd, remote);
          } catch (const std::exception& e) {  // allocation only; the descriptor is closed by now
            ctx->log(LogLevel::kError, std::string("an introduction from " + remote + " failed: ") + e.what());
          }
        },
        "too many introductions at once");
  }
  if (peer_.cluster_id != o.cluster_id) {
    return refuse(Answer::kClusterIdMismatch,
                  "cluster ID mismatch: local cluster ID " + hex(o.cluster_id) +
                      ", remote cluster ID " + hex(peer_.cluster_id));
  }
  if (peer_.receiver_id != o.local_id) {
    return refuse(Answer::kMemberIdMismatch,
                  "member ID mismatch: local member ID " + hex(o.local_id) +
                      ", the sender meant member ID " + hex(peer_.receiver_id));
  }
  if (static_cast<ConnectionKind>(peer_.kind) == ConnectionKind::kSnapshot) {
    TransportContext* ctx = &ctx_;
    SnapshotThreads* threads = &snapshots_;
    const MemberId from = peer_.sender_id;
    return hand_to_thread(
        snapshots_,
        [ctx, threads, from](SnapshotThreads::Slot& slot, int fd) {
          receive_snapshot_stream(*ctx, *threads, slot, fd, from);
        },
        "too many snapshots arriving at once");
  }
  ctx_.log(LogLevel::kInfo, who() + " is up");
  answer_ = encode_answer(Answer::kOk, "");
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(answer_), [self](const error_code&, size_t) {
    // A failure shows in the reads as well.
  });
  buf_.resize(kReadBuffer);
  read_more();
}

void InboundConnection::refuse(Answer answer, const std::string& text) {
  const bool mismatch = answer == Answer::kClusterIdMismatch || answer == Answer::kMemberIdMismatch;
  ctx_.log(mismatch ? LogLevel::kError : LogLevel::kWarn,
           "refused " + who() + ": " + text);
  answer_ = encode_answer(answer, text);
  auto self = shared_from_this();
  asio::async_write(socket_, asio::buffer(answer_), [self](const error_code&, size_t) {
    error_code ignored;
    self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
    self->socket_.close(ignored);
  });
}

void InboundConnection::hand_to_thread(SnapshotThreads& threads,
                                       std::function<void(SnapshotThreads::Slot&, int fd)> serve,
                                       const char* busy) {
  error_code ec;
  int fd = socket_.release(ec);
  if (ec) {
    ctx_.log(LogLevel::kWarn, "cannot take over " + who() + ": " + ec.message());
    return;
  }
  if (threads.start([fd, serve = std::move(serve)](SnapshotThreads::Slot& slot) { serve(slot, fd); })) {
    return;
  }
  // Too many at once (or stopping): say so on the raw descriptor; the answer is a few bytes into
  // an empty socket buffer, so this does not block.
  const std::string text = threads.stopping() ? "the receiver is stopping" : busy;
  ctx_.log(LogLevel::kWarn, "refused " + who() + ": " + text);
  std::string answer = encode_answer(Answer::kBusy, text);
  (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

void InboundConnection::read_more() {
  auto self = shared_from_this();
  if (reading_big_) {
    asio::async_read(socket_, asio::buffer(big_.data() + big_filled_, big_.size() - big_filled_),
                     [self](const error_code& ec, size_t) {
                       if (ec) return self->closed(ec);
                       self->reading_big_ = false;
                       self->deliver(std::move(self->big_));
                       self->big_ = std::string();
                       self->parse();
                     });
    return;
  }
  if (begin_ == end_) {
    begin_ = end_ = 0;
  } else if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                          [self](const error_code& ec, size_t n) {
                            if (ec) return self->closed(ec);
                            self->end_ += n;
                            self->parse();
                          });
}

void InboundConnection::parse() {
  const uint64_t max = ctx_.options.max_frame_bytes;
  for (;;) {
    if (skip_ > 0) {
      size_t take = static_cast<size_t>(std::min<uint64_t>(skip_, end_ - begin_));
      begin_ += take;
      skip_ -= take;
      if (skip_ > 0) break;
    }
    const size_t avail = end_ - begin_;
    if (avail < kFrameHeaderBytes) break;
    const uint32_t len = get_u32(buf_.data() + begin_);
    if (len > max) {
      ctx_.log(LogLevel::kWarn, "dropped a frame of " + std::to_string(len) + " bytes on " + who() +
                                    ": larger than max_frame_bytes (" + std::to_string(max) + ")");
      begin_ += kFrameHeaderBytes;
      skip_ = len;
      continue;
    }
    if (avail - kFrameHeaderBytes >= len) {
      deliver(std::string(buf_.data() + begin_ + kFrameHeaderBytes, len));
      begin_ += kFrameHeaderBytes + len;
      continue;
    }
    if (kFrameHeaderBytes + len > buf_.size()) {
      // Larger than the buffer: read the rest straight into the frame's own string.
      const size_t have = avail - kFrameHeaderBytes;
      big_.resize(len);
      std::memcpy(big_.data(), buf_.data() + begin_ + kFrameHeaderBytes, have);
      big_filled_ = have;
      reading_big_ = true;
      begin_ = end_ = 0;
    }
    break;
  }
  read_more();
}

void InboundConnection::deliver(std::string frame) {
  if (ctx_.stopped.load(std::memory_order_acquire)) return;
  ctx_.handler().on_message(peer_.sender_id, std::move(frame));
}

void InboundConnection::closed(const error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  ctx_.log(LogLevel::kInfo, who() + " closed: " + ec.message());
}

}  // namespace keel::tcp
