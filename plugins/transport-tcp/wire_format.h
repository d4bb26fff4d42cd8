// transport-tcp's wire format: the connection preface, the receiver's answer, message frames, the
// snapshot stream and introductions. Every integer is little-endian. README.md describes the same
// in prose.
//
//   preface (sender -> receiver, 32 bytes):
//     "KTCP" | u8 version (1) | u8 kind (0 control, 1 bulk, 2 snapshot, 3 introduction) |
//     u16 zero | u64 cluster id | u64 sender member id | u64 receiver member id (the one it means
//     to reach)
//   answer (receiver -> sender): u8 code (Answer) | u16 length | that many bytes of text
//   control / bulk connections, after an OK answer: frames u32 length | bytes, one way only
//   snapshot connections, after an OK answer:
//     u32 length | metadata, then chunks u32 length (1..kMaxChunkBytes) | bytes, then u32 0 (end)
//     or u32 0xFFFFFFFF (the sender gave up: the receiver's reader gets an error);
//     the receiver answers with a status answer: the handler's Status, its message as the bytes.
//   introduction connections: the asker knows no ids yet (keel/transport.h), so it writes zeros
//     and the receiver checks none. After an OK answer: u32 length | question, one frame; the
//     receiver answers with a status answer (its message when the code is not OK, the answer
//     itself when it is) and closes. A question over the receiver's max_frame_bytes is answered
//     ResourceExhausted unread.
//   status answer: u8 keel::Status::Code | u32 length | that many bytes.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_WIRE_FORMAT_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_WIRE_FORMAT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "keel/status.h"

namespace keel::tcp {

inline constexpr char kMagic[4] = {'K', 'T', 'C', 'P'};
inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kPrefaceBytes = 32;
inline constexpr size_t kAnswerHeaderBytes = 3;
inline constexpr size_t kMaxAnswerText = 1024;
inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr size_t kChunkBytes = 64 << 10;        // what a sender puts in one chunk
inline constexpr uint32_t kMaxChunkBytes = 1u << 20;   // what a receiver accepts in one
inline constexpr uint32_t kEndOfSnapshot = 0;
inline constexpr uint32_t kSnapshotAborted = 0xFFFFFFFFu;
inline constexpr size_t kMaxSnapshotAnswerText = 64 << 10;  // also an introduction's refusal
inline constexpr size_t kStatusAnswerHeaderBytes = 5;
// What a receiver gives one introduction, from its preface to the last byte of its answer, and how
// many it serves at once (more are answered busy): nobody's ids are checked, so strangers must not
// hold its threads for long, nor many of them.
inline constexpr std::chrono::seconds kIntroductionDeadline{10};
inline constexpr size_t kMaxInboundIntroductions = 8;

// What a connection carries, named in its preface.
enum class ConnectionKind : uint8_t { kControl = 0, kBulk = 1, kSnapshot = 2, kIntroduce = 3 };

inline const char* kind_name(ConnectionKind kind) {
  switch (kind) {
    case ConnectionKind::kControl: return "control";
    case ConnectionKind::kBulk: return "bulk";
    case ConnectionKind::kSnapshot: return "snapshot";
    case ConnectionKind::kIntroduce: return "introduction";
  }
  return "unknown";
}

// The receiver's first byte.
enum class Answer : uint8_t {
  kOk = 0,
  kClusterIdMismatch = 1,
  kMemberIdMismatch = 2,
  kBadPreface = 3,   // not our magic, or a version or kind this receiver does not know
  kBusy = 4,         // too many snapshots (or introductions) arriving at once
};

inline void put_u16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline uint16_t get_u16(const char* p) {
  uint16_t v = 0;
  for (int i = 1; i >= 0; --i) v = static_cast<uint16_t>((v << 8) | static_cast<uint8_t>(p[i]));
  return v;
}
inline uint32_t get_u32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
inline uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

struct Preface {
  uint8_t version = kVersion;
  uint8_t kind = 0;  // a ConnectionKind, unchecked until parsed
  uint64_t cluster_id = 0;
  uint64_t sender_id = 0;
  uint64_t receiver_id = 0;
};

inline void encode_preface(const Preface& p, char out[kPrefaceBytes]) {
  std::memcpy(out, kMagic, 4);
  out[4] = static_cast<char>(p.version);
  out[5] = static_cast<char>(p.kind);
  put_u16(out + 6, 0);
  put_u64(out + 8, p.cluster_id);
  put_u64(out + 16, p.sender_id);
  put_u64(out + 24, p.receiver_id);
}

// False if `in` does not start with the magic.
inline bool decode_preface(const char in[kPrefaceBytes], Preface* p) {
  if (std::memcmp(in, kMagic, 4) != 0) return false;
  p->version = static_cast<uint8_t>(in[4]);
  p->kind = static_cast<uint8_t>(in[5]);
  p->cluster_id = get_u64(in + 8);
  p->sender_id = get_u64(in + 16);
  p->receiver_id = get_u64(in + 24);
  return true;
}

// The answer's bytes: code, u16 length, text (cut at kMaxAnswerText).
inline std::string encode_answer(Answer code, std::string text) {
  if (text.size() > kMaxAnswerText) text.resize(kMaxAnswerText);
  std::string out(kAnswerHeaderBytes, '\0');
  out[0] = static_cast<char>(code);
  put_u16(out.data() + 1, static_cast<uint16_t>(text.size()));
  return out + text;
}

// A status answer's bytes: `code`, u32 length, `bytes`.
inline std::string encode_status_answer(Status::Code code, std::string_view bytes) {
  std::string out(kStatusAnswerHeaderBytes, '\0');
  out[0] = static_cast<char>(code);
  put_u32(out.data() + 1, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
  return out;
}

// The Status a status answer's code and message stand for; a code this build does not know is
// kept in an Unknown status's message rather than cast into the enum.
inline Status status_from_wire(uint8_t code, std::string message) {
  switch (static_cast<Status::Code>(code)) {
    case Status::Code::kOk:
      return Status::OK();
    case Status::Code::kCancelled:
    case Status::Code::kUnknown:
    case Status::Code::kInvalidArgument:
    case Status::Code::kDeadlineExceeded:
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kPermissionDenied:
    case Status::Code::kResourceExhausted:
    case Status::Code::kFailedPrecondition:
    case Status::Code::kAborted:
    case Status::Code::kOutOfRange:
    case Status::Code::kNotSupported:
    case Status::Code::kInternal:
    case Status::Code::kUnavailable:
    case Status::Code::kCorruption:
    case Status::Code::kUnauthenticated:
    case Status::Code::kIOError:
      return Status(static_cast<Status::Code>(code), std::move(message));
  }
  return Status::Unknown("code " + std::to_string(code) + ": " + message);
}

// Member and cluster ids are written in hex in every message, as etcd does.
inline std::string hex(uint64_t v) {
  static const char* digits = "0123456789abcdef";
  if (v == 0) return "0";
  std::string s;
  while (v != 0) {
    s.insert(s.begin(), digits[v & 15]);
    v >>= 4;
  }
  return s;
}

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_WIRE_FORMAT_H_
