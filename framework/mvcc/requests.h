// The KV requests and responses of the MVCC store: keel's own value structs with the fields of
// etcd's etcdserverpb messages (RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest, Compare,
// RequestOp and their responses). The gRPC layer translates protobuf to and from these; the
// kernel never sees protobuf. Field meanings are etcd's (its api/etcdserverpb/rpc.proto).
#ifndef KEEL_MVCC_REQUESTS_H_
#define KEEL_MVCC_REQUESTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "keel/kv.h"
#include "mvcc/box.h"

namespace keel::mvcc {

// The part of etcd's ResponseHeader the store knows; the server fills cluster_id, member_id and
// raft_term.
struct ResponseHeader {
  int64_t revision = 0;
  friend bool operator==(const ResponseHeader&, const ResponseHeader&) = default;
};

enum class SortOrder : uint8_t { kNone = 0, kAscend = 1, kDescend = 2 };
enum class SortTarget : uint8_t { kKey = 0, kVersion = 1, kCreate = 2, kMod = 3, kValue = 4 };

struct RangeRequest {
  std::string key;
  std::string range_end;  // "" = just key; "\0" = every key >= key; else [key, range_end)
  int64_t limit = 0;      // 0 = no limit
  int64_t revision = 0;   // <= 0 = the current revision
  SortOrder sort_order = SortOrder::kNone;
  SortTarget sort_target = SortTarget::kKey;
  bool serializable = false;  // the server's business (local read); the store ignores it
  bool keys_only = false;
  bool count_only = false;
  int64_t min_mod_revision = 0;  // 0 = no bound (each of the four)
  int64_t max_mod_revision = 0;
  int64_t min_create_revision = 0;
  int64_t max_create_revision = 0;
  friend bool operator==(const RangeRequest&, const RangeRequest&) = default;
};

struct RangeResponse {
  ResponseHeader header;
  std::vector<KeyValue> kvs;
  bool more = false;  // more keys matched than `limit` returned
  int64_t count = 0;  // keys in the range at the revision (before the min/max filters)
  friend bool operator==(const RangeResponse&, const RangeResponse&) = default;
};

struct PutRequest {
  std::string key;
  std::string value;
  int64_t lease = 0;  // 0 = none
  bool prev_kv = false;
  bool ignore_value = false;  // keep the current value (the key must exist)
  bool ignore_lease = false;  // keep the current lease (the key must exist)
  friend bool operator==(const PutRequest&, const PutRequest&) = default;
};

struct PutResponse {
  ResponseHeader header;
  std::optional<KeyValue> prev_kv;
  friend bool operator==(const PutResponse&, const PutResponse&) = default;
};

struct DeleteRangeRequest {
  std::string key;
  std::string range_end;  // as RangeRequest
  bool prev_kv = false;
  friend bool operator==(const DeleteRangeRequest&, const DeleteRangeRequest&) = default;
};

struct DeleteRangeResponse {
  ResponseHeader header;
  int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
  friend bool operator==(const DeleteRangeResponse&, const DeleteRangeResponse&) = default;
};

struct Compare {
  enum class Result : uint8_t { kEqual = 0, kGreater = 1, kLess = 2, kNotEqual = 3 };
  enum class Target : uint8_t { kVersion = 0, kCreate = 1, kMod = 2, kValue = 3, kLease = 4 };
  Result result = Result::kEqual;
  Target target = Target::kVersion;
  std::string key;
  std::string range_end;  // as RangeRequest: every key of the range must satisfy the compare
  // etcd's target_union: the field matching `target` is compared, the others are ignored.
  int64_t version = 0;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  std::string value;
  int64_t lease = 0;
  friend bool operator==(const Compare&, const Compare&) = default;
};

struct TxnRequest;
struct TxnResponse;

// One operation of a txn branch. std::monostate is etcd's empty RequestOp (refused with
// "etcdserver: key not found").
struct RequestOp {
  std::variant<std::monostate, RangeRequest, PutRequest, DeleteRangeRequest, Box<TxnRequest>>
      request;
  friend bool operator==(const RequestOp&, const RequestOp&) = default;
};

struct TxnRequest {
  std::vector<Compare> compare;  // all must hold (AND)
  std::vector<RequestOp> success;
  std::vector<RequestOp> failure;
  friend bool operator==(const TxnRequest&, const TxnRequest&) = default;
};

struct ResponseOp {
  std::variant<std::monostate, RangeResponse, PutResponse, DeleteRangeResponse, Box<TxnResponse>>
      response;
  friend bool operator==(const ResponseOp&, const ResponseOp&) = default;
};

struct TxnResponse {
  ResponseHeader header;
  bool succeeded = false;
  std::vector<ResponseOp> responses;
  friend bool operator==(const TxnResponse&, const TxnResponse&) = default;
};

struct CompactResponse {
  ResponseHeader header;
};

struct HashKvResponse {
  ResponseHeader header;  // the current revision
  uint32_t hash = 0;
  int64_t compact_revision = 0;
  int64_t hash_revision = 0;  // the revision hashed up to
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_REQUESTS_H_
