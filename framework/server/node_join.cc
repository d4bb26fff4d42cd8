// How a member joins a running cluster (--initial-cluster-state existing, an empty data dir), as
// etcd's GetClusterFromRemotePeers and ValidateClusterAndAssignIDs do: it asks its peers' URLs
// for the cluster's id and members through introductions (keel/transport.h: it knows neither id
// yet, nor its own), checks that --initial-cluster names exactly those members by their peer
// URLs, and takes its own id from the member with its peer URLs.
#include <algorithm>
#include <future>
#include <optional>

#include "keel/peer_url.h"
#include "server/member_id.h"
#include "server/node.h"
#include "server/peer_frames.h"

namespace keel::server {
namespace {

// How long one peer URL has to answer, and how many times the URLs are tried in turn (a member
// just added may start before its peers have applied its addition, or while one restarts).
constexpr std::chrono::seconds kAskTimeout{2};
constexpr int kAskRounds = 3;

// The short-lived transport only asks: whatever reaches it is dropped.
class AskOnly : public TransportHandler {
 public:
  void on_message(MemberId, std::string) override {}
  void on_unreachable(MemberId) override {}
  Status on_snapshot(MemberId, std::string_view, ByteSource&) override {
    return Status::Unavailable("the member is still joining");
  }
};

std::string join(const std::vector<std::string>& urls) {
  std::string out;
  for (const std::string& u : urls) out += (out.empty() ? "" : ",") + u;
  return out;
}

// As etcd prints the cluster it fetched in its refusals.
std::string describe(const ClusterIntroduction& cluster) {
  std::string out = "{ClusterID:" + id_to_go_hex(cluster.cluster_id) + " Members:[";
  for (const Member& m : cluster.members) {
    out += (out.back() == '[' ? "" : " ") + std::string("&{ID:") + id_to_go_hex(m.id) + " PeerURLs:[" +
           join(m.peer_urls) + "]}";
  }
  return out + "]}";
}

// One introduction, waited for.
Result<std::string> ask(Transport& transport, const std::string& url) {
  auto answer = std::make_shared<std::promise<Result<std::string>>>();
  std::future<Result<std::string>> got = answer->get_future();
  transport.introduce(url, encode_cluster_question(), kAskTimeout,
                      [answer](Result<std::string> r) { answer->set_value(std::move(r)); });
  return got.get();
}

}  // namespace

Result<std::vector<Member>> Node::join_cluster(const std::vector<Member>& initial) {
  if (options_.listen_peer_urls.empty()) return Status::InvalidArgument("a joining member needs a peer URL to listen on");
  Result<PeerUrl> listen = parse_peer_url(options_.listen_peer_urls.front(), "keeld");
  if (!listen.ok()) return listen.status();
  AskOnly handler;
  TransportOptions asking;  // no ids: it knows none yet
  asking.listen_urls = {listen->with_port(0)};
  asking.handler = &handler;
  Result<std::unique_ptr<Transport>> transport = options_.transport->start(asking);
  if (!transport.ok()) return transport.status().with_context("starting a transport to ask the cluster");
  std::vector<std::string> urls;
  for (const Member& m : initial) {
    if (same_peer_urls(m.peer_urls, options_.peer_urls)) continue;
    urls.insert(urls.end(), m.peer_urls.begin(), m.peer_urls.end());
  }
  std::optional<ClusterIntroduction> cluster;
  Status last = Status::Unavailable("no peer URL to ask");
  for (int round = 0; round < kAskRounds && !cluster; ++round) {
    for (const std::string& url : urls) {
      Result<std::string> answer = ask(**transport, url);
      Result<ClusterIntroduction> decoded = answer.ok() ? decode_cluster_introduction(*answer)
                                                        : Result<ClusterIntroduction>(answer.status());
      if (decoded.ok()) {
        cluster = std::move(decoded).value();
        break;
      }
      last = decoded.status().with_context(url);
      log(options_.logger, LogLevel::kInfo, "asking for the cluster: " + last.to_string());
    }
  }
  (*transport)->stop();
  if (!cluster) {
    return Status::Unavailable("cannot fetch cluster info from peer urls: could not retrieve cluster information "
                               "from the given URLs (last: " + last.to_string() + ")");
  }
  // etcd's ValidateClusterAndAssignIDs: --initial-cluster must name the cluster's members.
  const std::string refusal = "error validating peerURLs " + describe(*cluster) + ": ";
  if (cluster->members.size() != initial.size()) return Status::FailedPrecondition(refusal + "member count is unequal");
  uint64_t self = 0;
  for (const Member& existing : cluster->members) {
    auto local = std::find_if(initial.begin(), initial.end(),
                              [&](const Member& m) { return same_peer_urls(m.peer_urls, existing.peer_urls); });
    if (local == initial.end()) {
      return Status::FailedPrecondition(refusal + "PeerURLs: no match found for existing member (" +
                                        id_to_go_hex(existing.id) + ", [" + join(existing.peer_urls) + "])");
    }
    if (same_peer_urls(existing.peer_urls, options_.peer_urls)) self = existing.id;
  }
  if (self == 0) {
    return Status::FailedPrecondition(refusal + "this member's peer URLs (" + join(options_.peer_urls) +
                                      ") are no member's: add it first (etcdctl member add)");
  }
  member_id_ = self;
  cluster_id_ = cluster->cluster_id;
  log(options_.logger, LogLevel::kInfo,
      "joining cluster " + id_to_hex(cluster_id_) + " as member " + id_to_hex(member_id_));
  return std::move(cluster->members);
}

}  // namespace keel::server
