// Translation between etcd's protobuf messages (etcdserverpb, mvccpb) and the kernel's plain
// request and response structs (mvcc/requests.h, server/request.h), and from keel::Status to a
// grpc::Status with etcd's code and text. The one place protobuf meets the kernel's types.
#ifndef KEEL_SERVICES_GRPC_CONVERT_H_
#define KEEL_SERVICES_GRPC_CONVERT_H_

#include <grpcpp/support/status.h>

#include "etcdserverpb/rpc.pb.h"
#include "keel/kv.h"
#include "keel/status.h"
#include "mvcc/requests.h"
#include "mvccpb/kv.pb.h"

namespace keel::grpcsvc {

// Requests: every field etcd defines, nested txns included; an empty RequestOp becomes
// std::monostate (the store refuses it with etcd's "key not found"). These cannot fail, so an
// enum value keel does not know becomes the default (sort: NONE by KEY, which is how etcd 3.4
// serves an unknown sort order; compare: EQUAL on VERSION). An unknown sort target is refused
// with "etcdserver: invalid sort option"; a caller that wants that must check the protobuf before
// converting.
mvcc::RangeRequest from_proto(const etcdserverpb::RangeRequest& in);
mvcc::PutRequest from_proto(const etcdserverpb::PutRequest& in);
mvcc::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& in);
mvcc::TxnRequest from_proto(const etcdserverpb::TxnRequest& in);

// Responses: everything but the header's cluster_id, member_id and raft_term, which the caller
// fills. Every header, nested ones included, is present and carries its own struct's revision
// (the store leaves a nested txn's at 0, as etcd does). *out is expected fresh: repeated fields
// are appended to.
void to_proto(const KeyValue& in, mvccpb::KeyValue* out);
void to_proto(const Event& in, mvccpb::Event* out);
void to_proto(const mvcc::RangeResponse& in, etcdserverpb::RangeResponse* out);
// Moves the keys and values: a huge Range is held once, not twice, until it is serialized.
void to_proto(mvcc::RangeResponse&& in, etcdserverpb::RangeResponse* out);
void to_proto(const mvcc::PutResponse& in, etcdserverpb::PutResponse* out);
void to_proto(const mvcc::DeleteRangeResponse& in, etcdserverpb::DeleteRangeResponse* out);
void to_proto(const mvcc::TxnResponse& in, etcdserverpb::TxnResponse* out);

// The gRPC status etcd would send: keel's codes 0..16 are gRPC's by number (Corruption is
// DATA_LOSS), IOError becomes UNAVAILABLE, and the message is always carried unchanged.
grpc::Status to_grpc_status(const Status& status);

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_CONVERT_H_
