// The member's metrics that Node's public API can answer at scrape time, under etcd's names:
//
//   etcd_server_has_leader, etcd_server_is_leader            from has_leader() / status().leader
//   etcd_server_proposals_committed_total                     the committed Raft index (a gauge, as etcd's)
//   etcd_server_proposals_applied_total                       the applied index (a gauge, as etcd's)
//   etcd_mvcc_db_total_size_in_bytes, ..._size_in_use_in_bytes  the Backend's sizes
//   etcd_debugging_mvcc_current_revision                      the store's revision
//   etcd_server_id{server_id}, etcd_server_version{server_version},
//   etcd_cluster_version{cluster_version}                     1, labelled
//
// What happens inside the Raft and apply paths (proposals pending and failed, WAL fsync and
// backend commit latencies, leader changes, ...) is the Node's to count with the same Registry.
#ifndef KEEL_SERVICES_HTTP_MEMBER_METRICS_H_
#define KEEL_SERVICES_HTTP_MEMBER_METRICS_H_

#include <string>

#include "metrics/metrics.h"
#include "server/node.h"

namespace keel::http {

// Registers the gauges above; `node` outlives every later render() of `registry`.
// `server_version` as /version and Maintenance.Status report it.
void register_member_metrics(metrics::Registry& registry, server::Node& node,
                             const std::string& server_version = "3.4.0");

}  // namespace keel::http

#endif  // KEEL_SERVICES_HTTP_MEMBER_METRICS_H_
