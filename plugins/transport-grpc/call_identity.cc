#include "call_identity.h"

#include <charconv>
#include <cstdio>

#include "transport_context.h"

namespace keel::grpc_transport {

std::string hex(uint64_t id) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

namespace {

bool read_hex(const grpc::CallbackServerContext& call, const char* key, uint64_t* out) {
  const auto& md = call.client_metadata();
  auto it = md.find(key);
  if (it == md.end()) return false;
  const char* begin = it->second.data();
  const char* end = begin + it->second.size();
  auto [p, ec] = std::from_chars(begin, end, *out, 16);
  return ec == std::errc() && p == end && begin != end;
}

}  // namespace

void add_identity(grpc::ClientContext& call, const CallIdentity& id) {
  call.AddMetadata(kClusterKey, hex(id.cluster_id));
  call.AddMetadata(kFromKey, hex(id.from));
  call.AddMetadata(kToKey, hex(id.to));
}

grpc::Status check_identity(const grpc::CallbackServerContext& call, const TransportOptions& local,
                            CallIdentity* out) {
  if (!read_hex(call, kClusterKey, &out->cluster_id) || !read_hex(call, kFromKey, &out->from) ||
      !read_hex(call, kToKey, &out->to)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string("transport-grpc: a peer call needs the metadata ") +
                            kClusterKey + ", " + kFromKey + " and " + kToKey + " in hex");
  }
  if (out->cluster_id != local.cluster_id) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "cluster ID mismatch: member " + hex(out->from) + " of cluster " +
                            hex(out->cluster_id) + " called member " + hex(local.local_id) +
                            " of cluster " + hex(local.cluster_id));
  }
  if (out->to != local.local_id) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "member ID mismatch: member " + hex(out->from) + " meant to reach member " +
                            hex(out->to) + " but reached member " + hex(local.local_id) +
                            " (cluster " + hex(local.cluster_id) + ")");
  }
  return grpc::Status::OK;
}

void mark_accepted(grpc::CallbackServerContext& call) { call.AddInitialMetadata(kAcceptedKey, "1"); }

bool accepted(const grpc::ClientContext& call) {
  return call.GetServerInitialMetadata().count(kAcceptedKey) != 0;
}

Status from_grpc(const grpc::Status& s, const std::string& context) {
  if (s.ok()) return Status::OK();
  int code = static_cast<int>(s.error_code());
  auto keel_code = code > 0 && code <= 16 ? static_cast<Status::Code>(code) : Status::Code::kUnknown;
  return Status(keel_code, context + ": " + s.error_message());
}

}  // namespace keel::grpc_transport
