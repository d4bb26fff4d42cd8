// Callback gauges over Node's public API: nothing is counted on the member's hot paths here.
#include "http/member_metrics.h"

#include <cstdio>

namespace keel::http {

void register_member_metrics(metrics::Registry& registry, server::Node& node, const std::string& server_version) {
  server::Node* n = &node;
  registry.gauge_fn("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
                    [n] { return n->has_leader() ? 1.0 : 0.0; });
  registry.gauge_fn("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                    [n] { return n->status().leader == n->member_id() ? 1.0 : 0.0; });
  registry.gauge_fn("etcd_server_proposals_committed_total",
                    "The total number of consensus proposals committed.",
                    [n] { return static_cast<double>(n->status().raft_index); });
  registry.gauge_fn("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.",
                    [n] { return static_cast<double>(n->status().applied_index); });
  registry.gauge_fn("etcd_mvcc_db_total_size_in_bytes",
                    "Total size of the underlying database physically allocated in bytes.",
                    [n] { return static_cast<double>(n->status().db_size); });
  registry.gauge_fn("etcd_mvcc_db_total_size_in_use_in_bytes",
                    "Total size of the underlying database logically in use in bytes.",
                    [n] { return static_cast<double>(n->status().db_size_in_use); });
  registry.gauge_fn("etcd_debugging_mvcc_current_revision", "The current revision of store.",
                    [n] { return static_cast<double>(n->header().revision); });

  char id[17];
  std::snprintf(id, sizeof id, "%llx", static_cast<unsigned long long>(node.member_id()));
  registry.gauge_family("etcd_server_id",
                        "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
                        {"server_id"})
      .with({id})
      .set(1);
  registry.gauge_family("etcd_server_version",
                        "Which version is running. 1 for 'server_version' label with current version.",
                        {"server_version"})
      .with({server_version})
      .set(1);
  // etcd labels the cluster version by major.minor.
  const size_t second_dot = server_version.find('.', server_version.find('.') + 1);
  registry.gauge_family("etcd_cluster_version",
                        "Which version is running. 1 for 'cluster_version' label with current cluster version",
                        {"cluster_version"})
      .with({server_version.substr(0, second_dot)})
      .set(1);
}

}  // namespace keel::http
