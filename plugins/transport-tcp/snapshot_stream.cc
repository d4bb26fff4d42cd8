#include "snapshot_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <memory>

#include "blocking_socket.h"
#include "wire_format.h"

namespace keel::tcp {

namespace {

using namespace std::chrono_literals;

constexpr auto kConnectTimeout = 5s;
// How long a receiver whose handler stopped early keeps reading (and discarding) what the sender
// still writes, so its answer is not lost to a reset connection.
constexpr auto kDrainTime = 5s;

// Reads the receiver's final answer: u8 code, u32 length, message.
Status read_snapshot_answer(int fd, MemberId to) {
  char head[kStatusAnswerHeaderBytes];
  Status s = recv_all(fd, head, sizeof(head));
  if (s.ok()) {
    uint32_t len = get_u32(head + 1);
    if (len > kMaxSnapshotAnswerText) {
      s = Status::Corruption("an answer of " + std::to_string(len) + " bytes");
    } else {
      std::string message(len, '\0');
      s = recv_all(fd, message.data(), len);
      if (s.ok()) return status_from_wire(static_cast<uint8_t>(head[0]), std::move(message));
    }
  }
  return Status::Unavailable("transport-tcp: no answer from peer " + hex(to) +
                             " to the snapshot: " + s.message());
}

// The sender's side, once connected.
Status stream_to(TransportContext& ctx, int fd, MemberId to, const PeerUrl& url,
                 const std::string& metadata, ByteSource& data) {
  const std::string who = "peer " + hex(to) + " at " + url.text;
  char preface[kPrefaceBytes];
  encode_preface(Preface{kVersion, static_cast<uint8_t>(ConnectionKind::kSnapshot),
                         ctx.options.cluster_id, ctx.options.local_id, to},
                 preface);
  Status s = send_all(fd, preface, sizeof(preface));
  char answer[kAnswerHeaderBytes];
  if (s.ok()) s = recv_all(fd, answer, sizeof(answer));
  if (!s.ok()) return Status::Unavailable("transport-tcp: snapshot to " + who + ": " + s.message());
  std::string text(get_u16(answer + 1), '\0');
  if (!recv_all(fd, text.data(), text.size()).ok()) text = "(no reason given)";
  switch (static_cast<Answer>(answer[0])) {
    case Answer::kOk:
      break;
    case Answer::kClusterIdMismatch:
    case Answer::kMemberIdMismatch:
      ctx.log(LogLevel::kError, who + " refused our snapshot connection: " + text +
                                    " (local cluster ID " + hex(ctx.options.cluster_id) +
                                    ", local member ID " + hex(ctx.options.local_id) + ")");
      ctx.report_unreachable(to);
      return Status::FailedPrecondition("transport-tcp: " + who + " refused the snapshot: " + text);
    case Answer::kBusy:
      return Status::Unavailable("transport-tcp: " + who + " is busy: " + text);
    default:
      return Status::Unavailable("transport-tcp: " + who + " refused the snapshot: " + text);
  }

  std::string header(4, '\0');
  put_u32(header.data(), static_cast<uint32_t>(metadata.size()));
  s = send_all(fd, header.data(), 4);
  if (s.ok()) s = send_all(fd, metadata.data(), metadata.size());
  // One chunk buffer with room for its header in front: one send per chunk.
  std::unique_ptr<char[]> chunk(new char[4 + kChunkBytes]);
  uint64_t sent = 0;
  while (s.ok()) {
    // The receiver may answer before the end (its handler gave up): stop sending then.
    if (readable_now(fd)) break;
    Result<size_t> n = status_from_exceptions("transport-tcp", "reading the snapshot source",
                                              [&] { return data.read(chunk.get() + 4, kChunkBytes); });
    if (!n.ok()) {
      char aborted[4];
      put_u32(aborted, kSnapshotAborted);
      (void)send_all(fd, aborted, 4);
      ctx.log(LogLevel::kWarn, "snapshot to " + who + " abandoned: its source failed: " +
                                   n.status().to_string());
      return n.status();
    }
    size_t len = std::min(*n, kChunkBytes);
    put_u32(chunk.get(), static_cast<uint32_t>(len));
    s = send_all(fd, chunk.get(), 4 + len);
    sent += len;
    if (len == 0) break;  // that was the end marker
  }
  // A failed send may still leave the receiver's answer to read (it answered, then closed).
  Status answer_status = read_snapshot_answer(fd, to);
  if (!s.ok() && answer_status.code() == Status::Code::kUnavailable) {
    return Status::Unavailable("transport-tcp: snapshot to " + who + " broke after " +
                               std::to_string(sent) + " bytes: " + s.message());
  }
  ctx.log(answer_status.ok() ? LogLevel::kInfo : LogLevel::kWarn,
          "snapshot to " + who + " (" + std::to_string(sent) + " bytes): " +
              answer_status.to_string());
  return answer_status;
}

// The ByteSource a receiving handler reads: the chunks, as they arrive.
class SocketSource : public ByteSource {
 public:
  SocketSource(TransportContext& ctx, int fd, MemberId from) : ctx_(ctx), fd_(fd), from_(from) {}

  Result<size_t> read(char* buf, size_t n) override {
    if (!error_.ok()) return error_;
    if (ended_ || n == 0) return size_t{0};
    while (chunk_left_ == 0) {
      char head[4];
      Status s = recv_all(fd_, head, 4);
      if (!s.ok()) return fail(s.message());
      uint32_t len = get_u32(head);
      if (len == kEndOfSnapshot) {
        ended_ = true;
        return size_t{0};
      }
      if (len == kSnapshotAborted) {
        error_ = Status::Aborted("transport-tcp: member " + hex(from_) +
                                 " gave up sending its snapshot");
        return error_;
      }
      if (len > kMaxChunkBytes) {
        error_ = Status::Corruption("transport-tcp: a snapshot chunk of " + std::to_string(len) +
                                    " bytes from member " + hex(from_));
        return error_;
      }
      chunk_left_ = len;
    }
    Result<size_t> r = recv_some(fd_, buf, std::min<size_t>(n, chunk_left_));
    if (!r.ok()) return fail(r.status().message());
    if (*r == 0) return fail("the connection closed before the end");
    chunk_left_ -= *r;
    bytes_ += *r;
    return *r;
  }

  bool ended() const { return ended_; }
  bool failed() const { return !error_.ok(); }
  uint64_t bytes() const { return bytes_; }

 private:
  Status fail(const std::string& why) {
    if (ctx_.stopped.load(std::memory_order_acquire)) {
      error_ = Status::Cancelled("transport-tcp stopped while receiving a snapshot");
    } else {
      error_ = Status::Unavailable("transport-tcp: the snapshot stream from member " +
                                   hex(from_) + " broke: " + why);
    }
    return error_;
  }

  TransportContext& ctx_;
  const int fd_;
  const MemberId from_;
  uint32_t chunk_left_ = 0;
  uint64_t bytes_ = 0;
  bool ended_ = false;
  Status error_;
};

}  // namespace

Status send_snapshot_stream(TransportContext& ctx, SnapshotThreads& threads,
                            SnapshotThreads::Slot& slot, MemberId to,
                            const std::vector<PeerUrl>& urls, const std::string& metadata,
                            ByteSource& data) {
  Status last = Status::Unavailable("transport-tcp: no URL for peer " + hex(to));
  for (const PeerUrl& url : urls) {
    Result<int> fd = connect_blocking(url, kConnectTimeout, threads.hooks(slot));
    if (!fd.ok()) {
      last = fd.status().with_context("transport-tcp: snapshot to peer " + hex(to) + " at " +
                                      url.text);
      if (threads.stopping()) break;
      continue;
    }
    OwnedFd owned(threads, slot, *fd);
    Status s = stream_to(ctx, owned.get(), to, url, metadata, data);
    if (!s.ok() && threads.stopping()) break;
    return s;
  }
  if (threads.stopping()) {
    return Status::Cancelled("transport-tcp stopped before the snapshot to peer " + hex(to) +
                             " was sent");
  }
  ctx.report_unreachable(to);
  return last;
}

void receive_snapshot_stream(TransportContext& ctx, SnapshotThreads& threads,
                             SnapshotThreads::Slot& slot, int fd, MemberId from) {
  const std::unique_ptr<OwnedFd> owned = adopt_blocking(threads, slot, fd);
  if (!owned) return;
  const std::string who = "member " + hex(from);

  std::string ok = encode_answer(Answer::kOk, "");
  Status s = send_all(fd, ok.data(), ok.size());
  char head[4];
  if (s.ok()) s = recv_all(fd, head, 4);
  if (!s.ok()) {
    ctx.log(LogLevel::kWarn, "snapshot from " + who + " broke before its metadata: " + s.message());
    return;
  }
  const uint32_t meta_len = get_u32(head);
  Status answer;
  std::string metadata;
  SocketSource source(ctx, fd, from);
  if (meta_len > ctx.options.max_frame_bytes) {
    answer = Status::InvalidArgument("transport-tcp: snapshot metadata of " +
                                     std::to_string(meta_len) + " bytes is over max_frame_bytes");
  } else {
    metadata.resize(meta_len);
    s = recv_all(fd, metadata.data(), meta_len);
    if (!s.ok()) {
      ctx.log(LogLevel::kWarn, "snapshot from " + who + " broke in its metadata: " + s.message());
      return;
    }
    ctx.log(LogLevel::kInfo, "receiving a snapshot from " + who);
    try {
      answer = ctx.handler().on_snapshot(from, metadata, source);
    } catch (const std::exception& e) {
      answer = Status::Internal(std::string("the snapshot handler threw: ") + e.what());
    }
  }
  if (source.failed()) {
    ctx.log(LogLevel::kWarn, "snapshot from " + who + " failed after " +
                                 std::to_string(source.bytes()) + " bytes; handler said " +
                                 answer.to_string());
    return;  // the stream is broken: nobody to answer
  }
  ctx.log(answer.ok() ? LogLevel::kInfo : LogLevel::kWarn,
          "snapshot from " + who + " (" + std::to_string(source.bytes()) + " bytes): " +
              answer.to_string());
  std::string reply = encode_status_answer(
      answer.code(), std::string_view(answer.message()).substr(0, kMaxSnapshotAnswerText));
  if (!send_all(fd, reply.data(), reply.size()).ok()) return;
  if (!source.ended()) drain(fd, kDrainTime);
}

}  // namespace keel::tcp
