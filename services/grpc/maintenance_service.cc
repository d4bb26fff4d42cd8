// Maintenance: the member's status, HashKV, defragmentation and the alarm list.
#include "grpc/convert.h"
#include "grpc/services.h"

namespace keel::grpcsvc {

// The etcd server version keel reports: the API it speaks (clients gate features on it).
constexpr const char* kServerVersion = "3.4.0";

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // No alarm is raised until the quota lands, so every action answers an empty list, as etcd
  // does when disarming an alarm nobody raised.
  (void)request;
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  server::NodeStatus s = node_.status();
  response->set_version(kServerVersion);
  response->set_dbsize(static_cast<int64_t>(s.db_size));
  response->set_dbsizeinuse(static_cast<int64_t>(s.db_size_in_use));
  response->set_leader(s.leader);
  response->set_raftindex(s.raft_index);
  response->set_raftterm(s.raft_term);
  response->set_raftappliedindex(s.applied_index);
  response->set_islearner(false);
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::DefragmentRequest*,
                                                         etcdserverpb::DefragmentResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  keel::Status s = node_.defragment();
  if (!s.ok()) {
    reactor->Finish(to_grpc_status(s));
    return reactor;
  }
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Result<mvcc::HashKvResponse> h = node_.hash_kv(request->revision());
  if (!h.ok()) {
    reactor->Finish(to_grpc_status(h.status()));
    return reactor;
  }
  response->set_hash(h->hash);
  response->set_compact_revision(h->compact_revision);
  response->mutable_header()->set_revision(h->header.revision);
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest*,
                                                     etcdserverpb::MemberListResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  etcdserverpb::Member* m = response->add_members();
  m->set_id(node_.member_id());
  m->set_name(node_.options().name);
  for (const auto& u : node_.options().peer_urls) m->add_peerurls(u);
  for (const auto& u : node_.options().client_urls) m->add_clienturls(u);
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace keel::grpcsvc
