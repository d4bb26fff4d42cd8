// The member's metrics that Node's public API can answer at scrape time, under etcd's names
// (the member measures the rest itself, into the same registry: NodeOptions::metrics):
//
//   etcd_debugging_mvcc_current_revision                      the store's revision
//   etcd_server_id{server_id}, etcd_server_version{server_version},
//   etcd_cluster_version{cluster_version}                     1, labelled
#ifndef KEEL_SERVICES_HTTP_MEMBER_METRICS_H_
#define KEEL_SERVICES_HTTP_MEMBER_METRICS_H_

#include <string>

#include "metrics/metrics.h"
#include "server/node.h"

namespace keel::http {

// Registers the gauges above; `node` outlives every later render() of `registry`.
void register_member_metrics(metrics::Registry& registry, server::Node& node);

}  // namespace keel::http

#endif  // KEEL_SERVICES_HTTP_MEMBER_METRICS_H_
