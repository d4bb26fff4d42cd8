// Who a call is from and for: every call carries, in its request metadata, the sender's cluster
// id, its member id and the member id it means to reach. The receiver checks them before it reads
// anything, and accepts a call by sending its initial metadata with kAcceptedKey, so a sender
// knows a stream stands before it counts the peer as connected.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_CALL_IDENTITY_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_CALL_IDENTITY_H_

#include <grpcpp/client_context.h>
#include <grpcpp/server_context.h>

#include <cstdint>
#include <string>

#include "keel/status.h"
#include "keel/transport.h"
#include "keel/transport/v1/transport.grpc.pb.h"

namespace keel::grpc_transport {

namespace pb = ::keel::transport::v1;

inline constexpr char kClusterKey[] = "keel-cluster-id";
inline constexpr char kFromKey[] = "keel-from";
inline constexpr char kToKey[] = "keel-to";
inline constexpr char kAcceptedKey[] = "keel-accepted";

struct CallIdentity {
  uint64_t cluster_id = 0;
  MemberId from = 0;
  MemberId to = 0;
};

// Puts `id` into the request metadata of `call`.
void add_identity(grpc::ClientContext& call, const CallIdentity& id);

// The caller's identity, read from its metadata and checked against `local`: OK, or
// FAILED_PRECONDITION saying "cluster ID mismatch" or "member ID mismatch" with both ids in hex
// (INVALID_ARGUMENT for metadata that is missing or not hex).
grpc::Status check_identity(const grpc::CallbackServerContext& call, const TransportOptions& local,
                            CallIdentity* out);

// Marks `call` accepted (in the initial metadata it sends).
void mark_accepted(grpc::CallbackServerContext& call);

// True if the receiver accepted `call`. REQUIRES: its initial metadata has arrived.
bool accepted(const grpc::ClientContext& call);

// A gRPC status as keel's (the codes share gRPC's numbering), its message prefixed by `context`.
Status from_grpc(const grpc::Status& s, const std::string& context);

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_CALL_IDENTITY_H_
