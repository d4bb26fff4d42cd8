// The requests a member replicates through Raft, as plain values: one InternalRequest is the data
// of one normal log entry (keel's etcdserverpb.InternalRaftRequest). The gRPC layer builds them
// from protobuf; the kernel never sees protobuf. The binary encoding (request_codec.h) is part of
// the WAL's format: docs/format/requests.md.
#ifndef KEEL_SERVER_REQUEST_H_
#define KEEL_SERVER_REQUEST_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "lease/lessor.h"
#include "mvcc/requests.h"

namespace keel::server {

struct CompactionRequest {
  int64_t revision = 0;
  bool physical = false;  // answer only once the Backend has purged
  friend bool operator==(const CompactionRequest&, const CompactionRequest&) = default;
};

struct LeaseGrantRequest {
  int64_t ttl = 0;  // seconds
  int64_t id = 0;   // 0: the member picks one
  friend bool operator==(const LeaseGrantRequest&, const LeaseGrantRequest&) = default;
};

struct LeaseRevokeRequest {
  int64_t id = 0;
  friend bool operator==(const LeaseRevokeRequest&, const LeaseRevokeRequest&) = default;
};

struct LeaseCheckpointRequest {
  std::vector<lease::LeaseCheckpoint> checkpoints;
  friend bool operator==(const LeaseCheckpointRequest&, const LeaseCheckpointRequest&) = default;
};

// etcd's AlarmRequest as it is replicated (GET is answered locally and never proposed).
enum class AlarmType : uint8_t { kNone = 0, kNoSpace = 1, kCorrupt = 2 };
struct AlarmRequest {
  enum class Action : uint8_t { kGet = 0, kActivate = 1, kDeactivate = 2 };
  Action action = Action::kGet;
  uint64_t member_id = 0;  // 0 with kGet: every member
  AlarmType alarm = AlarmType::kNone;
  friend bool operator==(const AlarmRequest&, const AlarmRequest&) = default;
};

// etcd's publish: a member tells the cluster its name and client URLs once it sees a leader, so
// every member's MemberList shows them.
struct MemberAttributesRequest {
  uint64_t member_id = 0;
  std::string name;
  std::vector<std::string> client_urls;
  friend bool operator==(const MemberAttributesRequest&, const MemberAttributesRequest&) = default;
};

// etcd's MemberUpdate: a member's new peer URLs. Not a Raft configuration change (the voters stay
// the same); every member's transport reaches the member at the new URLs once it is applied.
struct MemberUpdateRequest {
  uint64_t member_id = 0;
  std::vector<std::string> peer_urls;
  friend bool operator==(const MemberUpdateRequest&, const MemberUpdateRequest&) = default;
};

struct InternalRequest {
  // Unique per member and proposal: the applier completes the waiting call with this id.
  uint64_t id = 0;
  std::variant<mvcc::PutRequest, mvcc::DeleteRangeRequest, mvcc::TxnRequest, CompactionRequest,
               LeaseGrantRequest, LeaseRevokeRequest, LeaseCheckpointRequest, AlarmRequest,
               MemberAttributesRequest, MemberUpdateRequest>
      body;
  friend bool operator==(const InternalRequest&, const InternalRequest&) = default;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_REQUEST_H_
