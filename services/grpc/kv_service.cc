// KV: reads served from the local store (after a ReadIndex round unless serializable), writes
// replicated through Raft and answered once applied.
#include "grpc/convert.h"
#include "grpc/services.h"
#include "mvcc/validate.h"
#include "server/request_codec.h"

namespace keel::grpcsvc {
namespace {

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
  if (!etcdserverpb::RangeRequest_SortOrder_IsValid(request->sort_order()) ||
      !etcdserverpb::RangeRequest_SortTarget_IsValid(request->sort_target())) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "etcdserver: invalid sort option"));
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
    to_proto(*got, response);
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
