// KV: reads — Ranges and txns that write nothing — served from the local store (after a
// ReadIndex round unless serializable), writes replicated through Raft and answered once applied.
// Every method is a raw call (raw_call.h): the hot path has no interceptor on it.
#include <algorithm>
#include <cstdint>

#include "grpc/convert.h"
#include "grpc/learner_gate.h"
#include "grpc/raw_call.h"
#include "grpc/services.h"
#include "mvcc/errors.h"
#include "mvcc/validate.h"
#include "server/request_codec.h"

namespace keel::grpcsvc {
namespace {

const grpc::Status kInvalidSortOption(grpc::StatusCode::INVALID_ARGUMENT,
                                      "etcdserver: invalid sort option");

// etcd's checkRangeRequest (v3rpc/key.go): the key first. etcd 3.4 checks no sort enum: it serves
// an unknown sort order unsorted (convert.cc) and crashes on an unknown sort target, which keel
// refuses with the text etcd 3.5 gives both. The same check runs on a Range inside a txn.
grpc::Status check_range(const etcdserverpb::RangeRequest& r) {
  if (r.key().empty()) return to_grpc_status(mvcc::ErrEmptyKey());
  if (!etcdserverpb::RangeRequest_SortTarget_IsValid(r.sort_target())) return kInvalidSortOption;
  return grpc::Status::OK;
}

grpc::Status check_txn(const etcdserverpb::TxnRequest& r, int64_t max_txn_ops);

// etcd's checkRequestOp: each kind's own check; an empty op is "key not found".
grpc::Status check_op(const etcdserverpb::RequestOp& op, int64_t max_txn_ops) {
  switch (op.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      return check_range(op.request_range());
    case etcdserverpb::RequestOp::kRequestPut: {
      const etcdserverpb::PutRequest& p = op.request_put();
      if (p.key().empty()) return to_grpc_status(mvcc::ErrEmptyKey());
      if (p.ignore_value() && !p.value().empty()) return to_grpc_status(mvcc::ErrValueProvided());
      if (p.ignore_lease() && p.lease() != 0) return to_grpc_status(mvcc::ErrLeaseProvided());
      return grpc::Status::OK;
    }
    case etcdserverpb::RequestOp::kRequestDeleteRange:
      if (op.request_delete_range().key().empty()) return to_grpc_status(mvcc::ErrEmptyKey());
      return grpc::Status::OK;
    case etcdserverpb::RequestOp::kRequestTxn:
      return check_txn(op.request_txn(), max_txn_ops);
    case etcdserverpb::RequestOp::REQUEST_NOT_SET:
      break;
  }
  return to_grpc_status(mvcc::ErrKeyNotFound());
}

// etcd's checkTxnRequest, in its order: the op count (the largest of compares, success and
// failure), the compares' keys, then every op of success and of failure. A nested txn is held
// to what its parent leaves of the limit (max_txn_ops minus the parent's count), as etcd does.
// mvcc::validate then adds the duplicate-key check (etcd's checkIntervals).
grpc::Status check_txn(const etcdserverpb::TxnRequest& r, int64_t max_txn_ops) {
  const int64_t opc = std::max({r.compare_size(), r.success_size(), r.failure_size()});
  if (opc > max_txn_ops) return to_grpc_status(mvcc::ErrTooManyOps());
  for (const auto& c : r.compare()) {
    if (c.key().empty()) return to_grpc_status(mvcc::ErrEmptyKey());
  }
  for (const auto& op : r.success()) {
    if (grpc::Status s = check_op(op, max_txn_ops - opc); !s.ok()) return s;
  }
  for (const auto& op : r.failure()) {
    if (grpc::Status s = check_op(op, max_txn_ops - opc); !s.ok()) return s;
  }
  return grpc::Status::OK;
}

// Finishes `call` with learner_refusal() when this member is a learner.
bool refused_to_learner(const server::Node& node, RawCall& call) {
  if (!node.is_learner()) return false;
  call.finish(learner_refusal());
  return true;
}

// Finishes `call` with the write's answer of type T, converted into a Proto.
template <typename T, typename Proto>
server::WriteCallback finish_write(server::Node& node, RawCall call) {
  return [&node, call](Result<server::WriteResult> r) mutable {
    if (!r.ok()) return call.finish(to_grpc_status(r.status()));
    const T* answer = std::get_if<T>(&*r);
    if (answer == nullptr) return call.finish(grpc::Status(grpc::StatusCode::INTERNAL, "unexpected answer"));
    Proto response;
    to_proto(*answer, &response);
    fill_header(node.header(), response.mutable_header());
    call.finish(response);
  };
}

}  // namespace

void fill_header(const server::HeaderInfo& info, etcdserverpb::ResponseHeader* header) {
  header->set_cluster_id(info.cluster_id);
  header->set_member_id(info.member_id);
  header->set_raft_term(info.raft_term);
  if (header->revision() == 0) header->set_revision(info.revision);
}

void fill_cluster_header(const server::HeaderInfo& info, etcdserverpb::ResponseHeader* header) {
  header->set_cluster_id(info.cluster_id);
  header->set_member_id(info.member_id);
  header->set_raft_term(info.raft_term);
}

void KvService::measure(GrpcMetrics& metrics) {
  const auto unary = grpc::experimental::ServerRpcInfo::Type::UNARY;
  range_ = &metrics.method("/etcdserverpb.KV/Range", unary);
  put_ = &metrics.method("/etcdserverpb.KV/Put", unary);
  delete_range_ = &metrics.method("/etcdserverpb.KV/DeleteRange", unary);
  txn_ = &metrics.method("/etcdserverpb.KV/Txn", unary);
  compact_ = &metrics.method("/etcdserverpb.KV/Compact", unary);
}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
  RawCall call(context, out, range_);
  etcdserverpb::RangeRequest request;
  if (!call.parse(bytes, &request)) return call.reactor();
  // A learner serves serializable reads alone (learner_gate.h).
  if (!request.serializable() && refused_to_learner(node_, call)) return call.reactor();
  if (grpc::Status checked = check_range(request); !checked.ok()) {
    call.finish(checked);
    return call.reactor();
  }
  mvcc::RangeRequest r = from_proto(request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    call.finish(to_grpc_status(v));
    return call.reactor();
  }
  auto serve = [this, r = std::move(r), call](Status ready) mutable {
    if (!ready.ok()) return call.finish(to_grpc_status(ready));
    Result<mvcc::RangeResponse> got = node_.range(r);
    if (!got.ok()) return call.finish(to_grpc_status(got.status()));
    etcdserverpb::RangeResponse response;
    to_proto(std::move(*got), &response);
    fill_header(node_.header(), response.mutable_header());
    call.finish(response);
  };
  if (request.serializable()) {
    serve(Status::OK());
  } else {
    node_.read_barrier(std::move(serve));
  }
  return call.reactor();
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
  RawCall call(context, out, put_);
  etcdserverpb::PutRequest request;
  if (!call.parse(bytes, &request) || refused_to_learner(node_, call)) return call.reactor();
  mvcc::PutRequest r = from_proto(request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    call.finish(to_grpc_status(v));
    return call.reactor();
  }
  node_.propose(std::move(r), finish_write<mvcc::PutResponse, etcdserverpb::PutResponse>(node_, call));
  return call.reactor();
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
  RawCall call(context, out, delete_range_);
  etcdserverpb::DeleteRangeRequest request;
  if (!call.parse(bytes, &request) || refused_to_learner(node_, call)) return call.reactor();
  mvcc::DeleteRangeRequest r = from_proto(request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    call.finish(to_grpc_status(v));
    return call.reactor();
  }
  node_.propose(std::move(r),
                finish_write<mvcc::DeleteRangeResponse, etcdserverpb::DeleteRangeResponse>(node_, call));
  return call.reactor();
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
  RawCall call(context, out, txn_);
  etcdserverpb::TxnRequest request;
  if (!call.parse(bytes, &request) || refused_to_learner(node_, call)) return call.reactor();
  if (grpc::Status checked = check_txn(request, static_cast<int64_t>(node_.options().max_txn_ops));
      !checked.ok()) {
    call.finish(checked);
    return call.reactor();
  }
  mvcc::TxnRequest r = from_proto(request);
  if (Status v = mvcc::validate(r, node_.options().max_txn_ops); !v.ok()) {
    call.finish(to_grpc_status(v));
    return call.reactor();
  }
  if (server::txn_depth(r) > server::kMaxTxnDepth) {
    call.finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                             "etcdserver: txn nested deeper than " + std::to_string(server::kMaxTxnDepth)));
    return call.reactor();
  }
  if (!mvcc::txn_writes(r)) {
    // A txn that only reads is served as a read, as etcd serves it: no Raft entry, and no
    // ReadIndex round when every range in it is serializable.
    const bool serializable = mvcc::txn_serializable(r);
    auto serve = [this, r = std::move(r), call](Status ready) mutable {
      if (!ready.ok()) return call.finish(to_grpc_status(ready));
      Result<mvcc::TxnResponse> got = node_.read_txn(r);
      if (!got.ok()) return call.finish(to_grpc_status(got.status()));
      etcdserverpb::TxnResponse response;
      to_proto(*got, &response);
      fill_header(node_.header(), response.mutable_header());
      call.finish(response);
    };
    if (serializable) {
      serve(Status::OK());
    } else {
      node_.read_barrier(std::move(serve));
    }
    return call.reactor();
  }
  node_.propose(std::move(r), finish_write<mvcc::TxnResponse, etcdserverpb::TxnResponse>(node_, call));
  return call.reactor();
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const grpc::ByteBuffer* bytes, grpc::ByteBuffer* out) {
  RawCall call(context, out, compact_);
  etcdserverpb::CompactionRequest request;
  if (!call.parse(bytes, &request) || refused_to_learner(node_, call)) return call.reactor();
  server::CompactionRequest r{request.revision(), request.physical()};
  node_.propose(r, [this, call](Result<server::WriteResult> got) mutable {
    if (!got.ok()) return call.finish(to_grpc_status(got.status()));
    etcdserverpb::CompactionResponse response;
    const auto* answer = std::get_if<mvcc::CompactResponse>(&*got);
    if (answer != nullptr) response.mutable_header()->set_revision(answer->header.revision);
    fill_header(node_.header(), response.mutable_header());
    call.finish(response);
  });
  return call.reactor();
}

}  // namespace keel::grpcsvc
