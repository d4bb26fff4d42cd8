// Cluster: the members (MemberList from the replicated membership) and etcd's changes to them.
#include <chrono>

#include "grpc/convert.h"
#include "grpc/learner_gate.h"
#include "grpc/services.h"
#include "keel/peer_url.h"
#include "server/errors.h"
#include "server/member_id.h"

namespace keel::grpcsvc {
namespace {

void fill_member(const server::Member& member, etcdserverpb::Member* m) {
  m->set_id(member.id);
  m->set_name(member.name);
  for (const auto& u : member.peer_urls) m->add_peerurls(u);
  for (const auto& u : member.client_urls) m->add_clienturls(u);
  m->set_islearner(member.is_learner);
}

template <typename Response>
void fill_members(const std::vector<server::Member>& members, Response* response) {
  for (const server::Member& member : members) fill_member(member, response->add_members());
}

// etcd's types.NewURLs: at least one URL, each one keel's transports can reach.
Result<std::vector<std::string>> peer_urls(const google::protobuf::RepeatedPtrField<std::string>& given) {
  if (given.empty()) return server::ErrMemberBadURLs();
  std::vector<std::string> urls(given.begin(), given.end());
  for (const std::string& url : urls) {
    Result<PeerUrl> parsed = parse_peer_url(url, "member");
    if (parsed.status().code() == Status::Code::kNotSupported) return parsed.status();
    if (!parsed.ok()) return server::ErrMemberBadURLs();
  }
  return urls;
}

// Runs `change` and finishes the call with the members after it (filled by `fill`).
template <typename Fill>
grpc::ServerUnaryReactor* change(server::Node& node, grpc::CallbackServerContext* context, server::MembershipChange c,
                                 Fill fill) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  node.change_members(std::move(c), [&node, reactor, fill](Result<std::vector<server::Member>> members) {
    if (!members.ok()) return reactor->Finish(to_grpc_status(members.status()));
    fill(*members, node.header());
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* ClusterService::MemberList(grpc::CallbackServerContext* context,
                                                     const etcdserverpb::MemberListRequest* request,
                                                     etcdserverpb::MemberListResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  fill_members(node_.members(), response);
  fill_cluster_header(node_.header(), response->mutable_header());
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ClusterService::MemberAdd(grpc::CallbackServerContext* context,
                                                    const etcdserverpb::MemberAddRequest* request,
                                                    etcdserverpb::MemberAddResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  Result<std::vector<std::string>> urls = peer_urls(request->peerurls());
  if (!urls.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(to_grpc_status(urls.status()));
    return reactor;
  }
  // etcd's NewMember for a member added at run time: its id also hashes the time of the add
  // (seconds), so a member removed and added again at the same URLs gets a new id.
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
  server::MembershipChange c;
  c.kind = server::MembershipChange::Kind::kAdd;
  c.member_id = server::compute_member_id(*urls, std::to_string(seconds));
  c.peer_urls = *urls;
  c.learner = request->islearner();
  server::Member added{c.member_id, "", c.peer_urls, {}, c.learner};
  return change(node_, context, std::move(c),
                [response, added](const std::vector<server::Member>& members, const server::HeaderInfo& header) {
                  fill_member(added, response->mutable_member());
                  fill_members(members, response);
                  fill_cluster_header(header, response->mutable_header());
                });
}

grpc::ServerUnaryReactor* ClusterService::MemberRemove(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberRemoveRequest* request,
                                                       etcdserverpb::MemberRemoveResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  server::MembershipChange c;
  c.kind = server::MembershipChange::Kind::kRemove;
  c.member_id = request->id();
  return change(node_, context, std::move(c),
                [response](const std::vector<server::Member>& members, const server::HeaderInfo& header) {
                  fill_members(members, response);
                  fill_cluster_header(header, response->mutable_header());
                });
}

grpc::ServerUnaryReactor* ClusterService::MemberUpdate(grpc::CallbackServerContext* context,
                                                       const etcdserverpb::MemberUpdateRequest* request,
                                                       etcdserverpb::MemberUpdateResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  Result<std::vector<std::string>> urls = peer_urls(request->peerurls());
  if (!urls.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(to_grpc_status(urls.status()));
    return reactor;
  }
  server::MembershipChange c;
  c.kind = server::MembershipChange::Kind::kUpdate;
  c.member_id = request->id();
  c.peer_urls = *urls;
  return change(node_, context, std::move(c),
                [response](const std::vector<server::Member>& members, const server::HeaderInfo& header) {
                  fill_members(members, response);
                  fill_cluster_header(header, response->mutable_header());
                });
}

grpc::ServerUnaryReactor* ClusterService::MemberPromote(grpc::CallbackServerContext* context,
                                                        const etcdserverpb::MemberPromoteRequest* request,
                                                        etcdserverpb::MemberPromoteResponse* response) {
  if (grpc::ServerUnaryReactor* refused = refuse_early(node_, context, *request)) return refused;
  server::MembershipChange c;
  c.kind = server::MembershipChange::Kind::kPromote;
  c.member_id = request->id();
  return change(node_, context, std::move(c),
                [response](const std::vector<server::Member>& members, const server::HeaderInfo& header) {
                  fill_members(members, response);
                  fill_cluster_header(header, response->mutable_header());
                });
}

}  // namespace keel::grpcsvc
