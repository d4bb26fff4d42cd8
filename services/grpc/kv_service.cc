// KV: reads — Ranges and txns that write nothing — served from the local store (after a
// ReadIndex round unless serializable), writes replicated through Raft and answered once applied.
#include <algorithm>
#include <cstdint>

#include "grpc/convert.h"
#include "grpc/services.h"
#include "mvcc/errors.h"
#include "mvcc/validate.h"
#include "server/request_codec.h"

namespace keel::grpcsvc {
namespace {

const grpc::Status kInvalidSortOption(grpc::StatusCode::INVALID_ARGUMENT,
                                      "etcdserver: invalid sort option");

// etcd's checkRangeRequest (v3rpc/key.go, 3.5): the key first, then the sort enums. The same check
// runs on a Range inside a txn.
grpc::Status check_range(const etcdserverpb::RangeRequest& r) {
  if (r.key().empty()) return to_grpc_status(mvcc::ErrEmptyKey());
  if (!etcdserverpb::RangeRequest_SortOrder_IsValid(r.sort_order()) ||
      !etcdserverpb::RangeRequest_SortTarget_IsValid(r.sort_target())) {
    return kInvalidSortOption;
  }
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

// Finishes `reactor` with the write's answer of type T, converted into *response.
template <typename T, typename Proto>
server::WriteCallback finish_write(server::Node& node, grpc::ServerUnaryReactor* reactor,
                                   Proto* response) {
  return [&node, reactor, response](Result<server::WriteResult> r) {
    if (!r.ok()) return reactor->Finish(to_grpc_status(r.status()));
    const T* answer = std::get_if<T>(&*r);
    if (answer == nullptr) return reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, "unexpected answer"));
    to_proto(*answer, response);
    fill_header(node.header(), response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace

void fill_header(const server::HeaderInfo& info, etcdserverpb::ResponseHeader* header) {
  header->set_cluster_id(info.cluster_id);
  header->set_member_id(info.member_id);
  header->set_raft_term(info.raft_term);
  if (header->revision() == 0) header->set_revision(info.revision);
}

grpc::ServerUnaryReactor* KvService::Range(grpc::CallbackServerContext* context,
                                           const etcdserverpb::RangeRequest* request,
                                           etcdserverpb::RangeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status checked = check_range(*request); !checked.ok()) {
    reactor->Finish(std::move(checked));
    return reactor;
  }
  mvcc::RangeRequest r = from_proto(*request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    reactor->Finish(to_grpc_status(v));
    return reactor;
  }
  auto serve = [this, r = std::move(r), reactor, response](Status ready) {
    if (!ready.ok()) return reactor->Finish(to_grpc_status(ready));
    Result<mvcc::RangeResponse> got = node_.range(r);
    if (!got.ok()) return reactor->Finish(to_grpc_status(got.status()));
    to_proto(std::move(*got), response);
    fill_header(node_.header(), response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  };
  if (request->serializable()) {
    serve(Status::OK());
  } else {
    node_.read_barrier(std::move(serve));
  }
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Put(grpc::CallbackServerContext* context,
                                         const etcdserverpb::PutRequest* request,
                                         etcdserverpb::PutResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  mvcc::PutRequest r = from_proto(*request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    reactor->Finish(to_grpc_status(v));
    return reactor;
  }
  node_.propose(std::move(r), finish_write<mvcc::PutResponse>(node_, reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::DeleteRange(grpc::CallbackServerContext* context,
                                                 const etcdserverpb::DeleteRangeRequest* request,
                                                 etcdserverpb::DeleteRangeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  mvcc::DeleteRangeRequest r = from_proto(*request);
  if (Status v = mvcc::validate(r); !v.ok()) {
    reactor->Finish(to_grpc_status(v));
    return reactor;
  }
  node_.propose(std::move(r), finish_write<mvcc::DeleteRangeResponse>(node_, reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Txn(grpc::CallbackServerContext* context,
                                         const etcdserverpb::TxnRequest* request,
                                         etcdserverpb::TxnResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (grpc::Status checked =
          check_txn(*request, static_cast<int64_t>(node_.options().max_txn_ops));
      !checked.ok()) {
    reactor->Finish(std::move(checked));
    return reactor;
  }
  mvcc::TxnRequest r = from_proto(*request);
  if (Status v = mvcc::validate(r, node_.options().max_txn_ops); !v.ok()) {
    reactor->Finish(to_grpc_status(v));
    return reactor;
  }
  if (server::txn_depth(r) > server::kMaxTxnDepth) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "etcdserver: txn nested deeper than " +
                                     std::to_string(server::kMaxTxnDepth)));
    return reactor;
  }
  if (!mvcc::txn_writes(r)) {
    // A txn that only reads is served as a read, as etcd serves it: no Raft entry, and no
    // ReadIndex round when every range in it is serializable.
    const bool serializable = mvcc::txn_serializable(r);
    auto serve = [this, r = std::move(r), reactor, response](Status ready) {
      if (!ready.ok()) return reactor->Finish(to_grpc_status(ready));
      Result<mvcc::TxnResponse> got = node_.read_txn(r);
      if (!got.ok()) return reactor->Finish(to_grpc_status(got.status()));
      to_proto(*got, response);
      fill_header(node_.header(), response->mutable_header());
      reactor->Finish(grpc::Status::OK);
    };
    if (serializable) {
      serve(Status::OK());
    } else {
      node_.read_barrier(std::move(serve));
    }
    return reactor;
  }
  node_.propose(std::move(r), finish_write<mvcc::TxnResponse>(node_, reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* KvService::Compact(grpc::CallbackServerContext* context,
                                             const etcdserverpb::CompactionRequest* request,
                                             etcdserverpb::CompactionResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  server::CompactionRequest r{request->revision(), request->physical()};
  node_.propose(r, [this, reactor, response](Result<server::WriteResult> got) {
    if (!got.ok()) return reactor->Finish(to_grpc_status(got.status()));
    const auto* answer = std::get_if<mvcc::CompactResponse>(&*got);
    if (answer != nullptr) response->mutable_header()->set_revision(answer->header.revision);
    fill_header(node_.header(), response->mutable_header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace keel::grpcsvc
