// The bytes written here are specified in docs/format/peer-frames.md. Members of one cluster may
// run different builds during an upgrade: a layout change needs a new kind or method, not an edit.
#include "server/peer_frames.h"

#include <utility>

#include "raft/codec.h"

namespace keel::server {
namespace {

Status malformed(const char* what) { return Status::Corruption(std::string("peer frame: malformed ") + what); }

void put_signed(std::string* out, int64_t v) {
  raft::PutVarint64(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

bool get_signed(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!raft::GetVarint64(in, &u)) return false;
  *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

bool get_byte(std::string_view* in, uint8_t* v) {
  if (in->empty()) return false;
  *v = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  return true;
}

// The frame's body after its kind byte, if the frame is of `kind`.
Result<std::string_view> body_of(std::string_view frame, PeerFrameKind kind) {
  Result<PeerFrameKind> k = frame_kind(frame);
  if (!k.ok()) return k.status();
  if (*k != kind) return Status::Corruption("peer frame: not of the expected kind");
  return frame.substr(1);
}

std::string start_frame(PeerFrameKind kind) { return std::string(1, static_cast<char>(kind)); }

}  // namespace

Result<PeerFrameKind> frame_kind(std::string_view frame) {
  if (frame.empty()) return Status::Corruption("peer frame: empty");
  const auto kind = static_cast<uint8_t>(frame[0]);
  if (kind < static_cast<uint8_t>(PeerFrameKind::kRaftMessage) || kind > static_cast<uint8_t>(PeerFrameKind::kReply)) {
    return Status::Corruption("peer frame: unknown kind " + std::to_string(kind));
  }
  return static_cast<PeerFrameKind>(kind);
}

std::string encode_raft_frame(const raft::Message& m) {
  std::string frame = start_frame(PeerFrameKind::kRaftMessage);
  frame += raft::EncodeMessage(m);
  return frame;
}

Result<raft::Message> decode_raft_frame(std::string_view frame) {
  Result<std::string_view> body = body_of(frame, PeerFrameKind::kRaftMessage);
  if (!body.ok()) return body.status();
  return raft::DecodeMessage(*body);
}

Lane lane_of(const raft::Message& m) {
  return m.type == raft::MessageType::kApp && !m.entries.empty() ? Lane::kBulk : Lane::kControl;
}

std::string encode_call_frame(const PeerCall& call) {
  std::string frame = start_frame(PeerFrameKind::kCall);
  raft::PutVarint64(&frame, call.call_id);
  frame.push_back(static_cast<char>(call.method));
  frame += call.body;
  return frame;
}

Result<PeerCall> decode_call_frame(std::string_view frame) {
  Result<std::string_view> body = body_of(frame, PeerFrameKind::kCall);
  if (!body.ok()) return body.status();
  std::string_view in = *body;
  PeerCall call;
  uint8_t method;
  if (!raft::GetVarint64(&in, &call.call_id) || !get_byte(&in, &method)) return malformed("call");
  if (method < static_cast<uint8_t>(PeerMethod::kLeaseRenew) || method > static_cast<uint8_t>(PeerMethod::kRemoveMember)) {
    return Status::Corruption("peer frame: unknown method " + std::to_string(method));
  }
  call.method = static_cast<PeerMethod>(method);
  call.body.assign(in);
  return call;
}

std::string encode_reply_frame(const PeerReply& reply) {
  std::string frame = start_frame(PeerFrameKind::kReply);
  raft::PutVarint64(&frame, reply.call_id);
  frame.push_back(static_cast<char>(reply.status.code()));
  raft::PutBytes(&frame, reply.status.message());
  if (reply.status.ok()) frame += reply.body;
  return frame;
}

Result<PeerReply> decode_reply_frame(std::string_view frame) {
  Result<std::string_view> body = body_of(frame, PeerFrameKind::kReply);
  if (!body.ok()) return body.status();
  std::string_view in = *body;
  PeerReply reply;
  uint8_t code;
  std::string message;
  if (!raft::GetVarint64(&in, &reply.call_id) || !get_byte(&in, &code) || !raft::GetBytes(&in, &message)) {
    return malformed("reply");
  }
  const bool known_code = code <= static_cast<uint8_t>(Status::Code::kUnauthenticated) ||
                          code == static_cast<uint8_t>(Status::Code::kIOError);
  if (!known_code) return malformed("reply (unknown status code)");
  if (code != 0 && !in.empty()) return malformed("reply (an error with a body)");
  reply.status = Status(static_cast<Status::Code>(code), std::move(message));
  reply.body.assign(in);
  return reply;
}

std::string encode_lease_renew(int64_t lease_id) {
  std::string out;
  put_signed(&out, lease_id);
  return out;
}

Result<int64_t> decode_lease_renew(std::string_view body) {
  int64_t id;
  if (!get_signed(&body, &id) || !body.empty()) return malformed("lease renew");
  return id;
}

std::string encode_cluster_question() { return std::string(1, static_cast<char>(kAskCluster)); }

Status decode_cluster_question(std::string_view question) {
  if (question.size() != 1 || static_cast<uint8_t>(question[0]) != kAskCluster) return malformed("introduction");
  return Status::OK();
}

std::string encode_removal_question(uint64_t member_id) {
  std::string out(1, static_cast<char>(kAskRemoved));
  raft::PutVarint64(&out, member_id);
  return out;
}

Result<uint64_t> decode_removal_question(std::string_view question) {
  uint64_t id;
  if (question.empty() || static_cast<uint8_t>(question[0]) != kAskRemoved) return malformed("introduction");
  question.remove_prefix(1);
  if (!raft::GetVarint64(&question, &id) || !question.empty()) return malformed("introduction");
  return id;
}

std::string encode_cluster_introduction(const ClusterIntroduction& answer) {
  std::string out;
  raft::PutVarint64(&out, answer.cluster_id);
  return out + encode_members(answer.members);
}

Result<ClusterIntroduction> decode_cluster_introduction(std::string_view answer) {
  ClusterIntroduction out;
  if (!raft::GetVarint64(&answer, &out.cluster_id)) return malformed("cluster introduction");
  Result<std::vector<Member>> members = decode_members(answer);
  if (!members.ok()) return members.status();
  out.members = std::move(members).value();
  return out;
}

std::string encode_member_request(uint64_t member_id) {
  std::string out;
  raft::PutVarint64(&out, member_id);
  return out;
}

Result<uint64_t> decode_member_request(std::string_view body) {
  uint64_t id;
  if (!raft::GetVarint64(&body, &id) || !body.empty()) return malformed("member request");
  return id;
}

std::string encode_lease_ttl_request(int64_t lease_id, bool keys) {
  std::string out;
  put_signed(&out, lease_id);
  out.push_back(keys ? '\1' : '\0');
  return out;
}

Result<std::pair<int64_t, bool>> decode_lease_ttl_request(std::string_view body) {
  int64_t id;
  uint8_t keys;
  if (!get_signed(&body, &id) || !get_byte(&body, &keys) || keys > 1 || !body.empty()) {
    return malformed("lease time-to-live request");
  }
  return std::make_pair(id, keys == 1);
}

std::string encode_renewed_ttl(int64_t ttl) { return encode_lease_renew(ttl); }

Result<int64_t> decode_renewed_ttl(std::string_view body) { return decode_lease_renew(body); }

std::string encode_lease_ttl(const lease::LeaseTimeToLiveResponse& r) {
  std::string out;
  put_signed(&out, r.id);
  put_signed(&out, r.ttl);
  put_signed(&out, r.granted_ttl);
  raft::PutVarint64(&out, r.keys.size());
  for (const std::string& k : r.keys) raft::PutBytes(&out, k);
  return out;
}

Result<lease::LeaseTimeToLiveResponse> decode_lease_ttl(std::string_view body) {
  lease::LeaseTimeToLiveResponse r;
  uint64_t n;
  if (!get_signed(&body, &r.id) || !get_signed(&body, &r.ttl) || !get_signed(&body, &r.granted_ttl) ||
      !raft::GetVarint64(&body, &n) || n > body.size()) {
    return malformed("lease time-to-live");
  }
  r.keys.resize(n);
  for (std::string& k : r.keys) {
    if (!raft::GetBytes(&body, &k)) return malformed("lease time-to-live key");
  }
  if (!body.empty()) return malformed("lease time-to-live (trailing bytes)");
  return r;
}

std::string encode_members(const std::vector<Member>& members) {
  std::string out;
  raft::PutVarint64(&out, members.size());
  for (const Member& m : members) {
    raft::PutVarint64(&out, m.id);
    raft::PutBytes(&out, encode_member(m));
  }
  return out;
}

Result<std::vector<Member>> decode_members(std::string_view body) {
  uint64_t n;
  if (!raft::GetVarint64(&body, &n) || n > body.size()) return malformed("members");
  std::vector<Member> members;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    std::string record;
    if (!raft::GetVarint64(&body, &id) || !raft::GetBytes(&body, &record)) return malformed("member");
    Result<Member> m = decode_member(id, record);
    if (!m.ok()) return malformed("member");
    members.push_back(std::move(m).value());
  }
  if (!body.empty()) return malformed("members (trailing bytes)");
  return members;
}

}  // namespace keel::server
