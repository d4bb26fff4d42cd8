// Maintenance: the member's status, Hash, HashKV, defragmentation, alarms and MoveLeader.
#include <chrono>

#include "grpc/convert.h"
#include "grpc/learner_gate.h"
#include "grpc/services.h"
#include "server/version.h"

namespace keel::grpcsvc {

namespace {

// How long a MoveLeader waits for the new leader when its client set no deadline (etcd would
// wait for ever).
constexpr std::chrono::seconds kMaxLeaderMoveWait{60};

void add_alarms(const std::vector<server::AlarmMember>& alarms, etcdserverpb::AlarmResponse* response) {
  for (const server::AlarmMember& a : alarms) {
    etcdserverpb::AlarmMember* m = response->add_alarms();
    m->set_memberid(a.member_id);
    m->set_alarm(static_cast<etcdserverpb::AlarmType>(a.alarm));
  }
}

}  // namespace

grpc::ServerUnaryReactor* MaintenanceService::Alarm(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::AlarmRequest* request,
                                                    etcdserverpb::AlarmResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Types and actions this build does not know (a newer client's) change nothing and list
  // nothing, as etcd's applier answers an action it has no case for. etcd 3.4's AlarmResponse
  // has no header.
  const bool known_type = request->alarm() >= etcdserverpb::NONE && request->alarm() <= etcdserverpb::CORRUPT;
  const auto type = static_cast<server::AlarmType>(request->alarm());
  switch (request->action()) {
    case etcdserverpb::AlarmRequest::GET:
      if (known_type) add_alarms(node_.alarms(type), response);
      break;
    case etcdserverpb::AlarmRequest::ACTIVATE:
    case etcdserverpb::AlarmRequest::DEACTIVATE: {
      if (!known_type) break;
      server::AlarmRequest r;
      r.action = request->action() == etcdserverpb::AlarmRequest::ACTIVATE ? server::AlarmRequest::Action::kActivate
                                                                           : server::AlarmRequest::Action::kDeactivate;
      r.member_id = request->memberid();
      r.alarm = type;
      node_.propose(r, [this, reactor, response](Result<server::WriteResult> got) {
        if (!got.ok()) return reactor->Finish(to_grpc_status(got.status()));
        if (const auto* alarms = std::get_if<std::vector<server::AlarmMember>>(&*got)) add_alarms(*alarms, response);
        reactor->Finish(grpc::Status::OK);
      });
      return reactor;
    }
    default:
      break;
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::MoveLeader(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::MoveLeaderRequest* request,
                                                         etcdserverpb::MoveLeaderResponse*) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // etcd waits for the new leader as long as the client does (its context), polling each tick.
  const auto client_deadline = context->deadline();
  const auto now = std::chrono::system_clock::now();
  const auto wait = client_deadline > now + kMaxLeaderMoveWait ? kMaxLeaderMoveWait : client_deadline - now;
  node_.move_leader(request->targetid(), std::chrono::steady_clock::now() + wait,
                    [reactor](keel::Status s) {
                      // etcd 3.4 answers an empty MoveLeaderResponse: no header.
                      reactor->Finish(s.ok() ? grpc::Status::OK : to_grpc_status(s));
                    });
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Status(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::StatusRequest*,
                                                     etcdserverpb::StatusResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  server::NodeStatus s = node_.status();
  response->set_version(server::kEtcdServerVersion);
  response->set_dbsize(static_cast<int64_t>(s.db_size));
  response->set_dbsizeinuse(static_cast<int64_t>(s.db_size_in_use));
  response->set_leader(s.leader);
  response->set_raftindex(s.raft_index);
  response->set_raftterm(s.raft_term);
  response->set_raftappliedindex(s.applied_index);
  response->set_islearner(s.is_learner);
  // etcd lists the raised alarms as Go prints an AlarmMember (etcdctl's ERRORS column).
  // Go's text format leaves out a zero enum: a NONE alarm prints its member alone.
  for (const server::AlarmMember& alarm : node_.alarms(server::AlarmType::kNone)) {
    std::string text = "memberID:" + std::to_string(alarm.member_id) + " ";
    if (alarm.alarm != server::AlarmType::kNone) {
      text += "alarm:" + etcdserverpb::AlarmType_Name(static_cast<etcdserverpb::AlarmType>(alarm.alarm)) + " ";
    }
    response->add_errors(text);
  }
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::Defragment(grpc::CallbackServerContext* context,
                                                         const etcdserverpb::DefragmentRequest* request,
                                                         etcdserverpb::DefragmentResponse*) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  keel::Status s = node_.defragment();
  // etcd 3.4 answers an empty DefragmentResponse: no header.
  reactor->Finish(s.ok() ? grpc::Status::OK : to_grpc_status(s));
  return reactor;
}

grpc::ServerUnaryReactor* MaintenanceService::HashKV(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::HashKVRequest* request,
                                                     etcdserverpb::HashKVResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
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

grpc::ServerUnaryReactor* MaintenanceService::Hash(grpc::CallbackServerContext* context,
                                                   const etcdserverpb::HashRequest* request,
                                                   etcdserverpb::HashResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Result<uint32_t> h = node_.hash();
  if (!h.ok()) {
    reactor->Finish(to_grpc_status(h.status()));
    return reactor;
  }
  response->set_hash(*h);
  fill_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace keel::grpcsvc
