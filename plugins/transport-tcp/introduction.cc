#include "introduction.h"


#include <algorithm>
#include <cstdint>
#include <string_view>

#include "blocking_socket.h"
#include "wire_format.h"

namespace keel::tcp {

namespace {

// The asker's side, once connected. `*answered` says the receiver's handler gave the result (an
// answer or a refusal), so a failure is the remote's word and not a broken connection.
Result<std::string> exchange(TransportContext& ctx, int fd, const PeerUrl& url,
                             const std::string& question, Deadline deadline, bool* answered) {
  const std::string who = "transport-tcp: introduction to " + url.text;
  char preface[kPrefaceBytes];
  // Zeros for the ids: the asker knows none, and the receiver reads none for this kind.
  encode_preface(Preface{kVersion, static_cast<uint8_t>(ConnectionKind::kIntroduce), 0, 0, 0}, preface);
  Status s = send_all(fd, preface, sizeof(preface), deadline);
  char answer[kAnswerHeaderBytes];
  if (s.ok()) s = recv_all(fd, answer, sizeof(answer), deadline);
  if (!s.ok()) return Status::Unavailable(who + ": " + s.message());
  std::string text(get_u16(answer + 1), '\0');
  if (!recv_all(fd, text.data(), text.size(), deadline).ok()) text = "(no reason given)";
  if (static_cast<Answer>(answer[0]) != Answer::kOk) {
    // Busy, or a receiver that does not know this kind (an older version): someone else may answer.
    return Status::Unavailable(who + " refused: " + text);
  }

  char header[kFrameHeaderBytes];
  put_u32(header, static_cast<uint32_t>(question.size()));
  s = send_all(fd, header, sizeof(header), deadline);
  if (s.ok()) s = send_all(fd, question.data(), question.size(), deadline);
  // A failed send may still leave the receiver's answer to read (it refused the question unread).
  char head[kStatusAnswerHeaderBytes];
  Status got = recv_all(fd, head, sizeof(head), deadline);
  if (!got.ok()) return Status::Unavailable(who + ": no answer: " + (s.ok() ? got : s).message());
  const uint8_t code = static_cast<uint8_t>(head[0]);
  const uint32_t len = get_u32(head + 1);
  // The asker bounds an answer as a receiver bounds a frame: by its own max_frame_bytes.
  const size_t limit = code == 0 ? ctx.options.max_frame_bytes : kMaxSnapshotAnswerText;
  if (len > limit) {
    return Status::ResourceExhausted(who + ": an answer of " + std::to_string(len) +
                                     " bytes is over " + std::to_string(limit));
  }
  std::string body(len, '\0');
  got = recv_all(fd, body.data(), len, deadline);
  if (!got.ok()) return Status::Unavailable(who + ": the answer broke: " + got.message());
  *answered = true;
  if (code == 0) return body;
  return status_from_wire(code, std::move(body));
}

}  // namespace

Result<std::string> ask_introduction(TransportContext& ctx, SnapshotThreads& threads,
                                     SnapshotThreads::Slot& slot, const PeerUrl& url,
                                     const std::string& question, std::chrono::milliseconds timeout) {
  // A day is forever here, and keeps now() + timeout from overflowing.
  timeout = std::clamp<std::chrono::milliseconds>(timeout, std::chrono::milliseconds::zero(),
                                                  std::chrono::hours(24));
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  bool answered = false;
  Result<std::string> result = Status::Unavailable("transport-tcp: not asked");
  Result<int> fd = connect_blocking(url, timeout, threads.hooks(slot));
  if (!fd.ok()) {
    result = Status::Unavailable("transport-tcp: introduction to " + url.text + ": " + fd.status().message());
  } else {
    OwnedFd owned(threads, slot, *fd);
    result = exchange(ctx, owned.get(), url, question, deadline, &answered);
  }
  if (!answered && threads.stopping()) {
    return Status::Cancelled("transport-tcp stopped before " + url.text + " answered the introduction");
  }
  ctx.log(LogLevel::kInfo, "introduction to " + url.text + ": " +
                               (result.ok() ? std::string("answered") : result.status().to_string()));
  return result;
}

void answer_introduction(TransportContext& ctx, SnapshotThreads& threads, SnapshotThreads::Slot& slot,
                         int fd, const std::string& remote) {
  // Blocking, and the deadline-bound calls below wait with poll().
  const std::unique_ptr<OwnedFd> owned = adopt_blocking(threads, slot, fd);
  if (!owned) return;
  const Deadline deadline = std::chrono::steady_clock::now() + kIntroductionDeadline;
  const std::string who = "an introduction from " + remote;

  std::string ok = encode_answer(Answer::kOk, "");
  Status s = send_all(fd, ok.data(), ok.size(), deadline);
  char head[kFrameHeaderBytes];
  if (s.ok()) s = recv_all(fd, head, sizeof(head), deadline);
  if (!s.ok()) {
    ctx.log(LogLevel::kWarn, who + " broke before its question: " + s.message());
    return;
  }
  const uint32_t len = get_u32(head);
  if (len > ctx.options.max_frame_bytes) {
    const Status refusal = Status::ResourceExhausted(
        "transport-tcp: a question of " + std::to_string(len) + " bytes is over max_frame_bytes (" +
        std::to_string(ctx.options.max_frame_bytes) + ")");
    ctx.log(LogLevel::kWarn, "refused " + who + ": " + refusal.message());
    std::string reply = encode_status_answer(refusal.code(), refusal.message());
    if (!send_all(fd, reply.data(), reply.size(), deadline).ok()) return;
    // The question is still coming: read it away (never stored), or the close would reset the
    // connection and lose the refusal before the asker reads it.
    drain(fd, std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::max(deadline - std::chrono::steady_clock::now(), Deadline::duration::zero())));
    return;
  }
  std::string question(len, '\0');
  s = recv_all(fd, question.data(), len, deadline);
  if (!s.ok()) {
    ctx.log(LogLevel::kWarn, who + " broke in its question: " + s.message());
    return;
  }
  Result<std::string> answer = Status::Cancelled("transport-tcp is stopping");
  if (!ctx.stopped.load(std::memory_order_acquire)) {
    answer = status_from_exceptions("transport-tcp", "on_introduction",
                                    [&] { return ctx.handler().on_introduction(question); });
  }
  if (answer.ok() && answer->size() > UINT32_MAX) {
    answer = Status::Internal("transport-tcp: an answer of " + std::to_string(answer->size()) +
                              " bytes does not fit the wire");
  }
  const std::string_view refusal = std::string_view(answer.status().message()).substr(0, kMaxSnapshotAnswerText);
  std::string reply = answer.ok() ? encode_status_answer(Status::Code::kOk, *answer)
                                  : encode_status_answer(answer.status().code(), refusal);
  ctx.log(LogLevel::kInfo, (answer.ok() ? "answered " : "refused ") + who +
                               (answer.ok() ? std::string() : ": " + answer.status().to_string()));
  s = send_all(fd, reply.data(), reply.size(), deadline);
  if (!s.ok()) ctx.log(LogLevel::kWarn, "the answer to " + who + " was not sent: " + s.message());
}

}  // namespace keel::tcp
