// Callback gauges over Node's public API: nothing is counted on the member's hot paths here.
#include "http/member_metrics.h"

#include <cstdio>

#include "server/version.h"

namespace keel::http {

void register_member_metrics(metrics::Registry& registry, server::Node& node) {
  const std::string server_version = server::kEtcdServerVersion;
  server::Node* n = &node;
  // Leader, proposals and db sizes are the member's own measures (NodeOptions::metrics): none of
  // them is read here, as Node::status() asks the Backend for its sizes, which can wait behind a
  // defragment, and a scrape must not.
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
