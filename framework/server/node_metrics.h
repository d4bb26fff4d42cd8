// NodeMetrics: the member's own measurements under etcd's metric names (proposals, leadership,
// disk latencies, the store's size and quota, watchers, leases, the MVCC operations, reads and
// applies), registered once in a metrics::Registry. Plain counters, gauges and histograms the
// member updates: nothing in the registry calls back into the member, so it may outlive it.
#ifndef KEEL_SERVER_NODE_METRICS_H_
#define KEEL_SERVER_NODE_METRICS_H_

#include <cstdint>

#include "metrics/metrics.h"

namespace keel::server {

struct NodeMetrics {
  metrics::Gauge* proposals_committed;
  metrics::Gauge* proposals_applied;
  metrics::Gauge* proposals_pending;
  metrics::Counter* proposals_failed;
  metrics::Gauge* has_leader;
  metrics::Gauge* is_leader;
  metrics::Gauge* is_learner;
  metrics::Counter* learner_promote_successes;
  metrics::Family<metrics::Counter>* learner_promote_failures;  // by Reason: the error's text
  metrics::Counter* leader_changes;
  metrics::Histogram* wal_fsync;
  metrics::Histogram* backend_commit;
  metrics::Gauge* db_size;
  metrics::Gauge* db_size_in_use;
  metrics::Gauge* quota_bytes;
  metrics::Gauge* watchers;
  metrics::Gauge* slow_watchers;
  metrics::Counter* leases_expired;
  metrics::Counter* leases_granted;
  metrics::Counter* leases_revoked;
  metrics::Counter* leases_renewed;
  metrics::Histogram* lease_ttl;
  metrics::Counter* puts;
  metrics::Counter* deletes;
  metrics::Counter* txns;
  metrics::Counter* ranges;
  metrics::Gauge* compact_revision;
  metrics::Counter* slow_applies;
  metrics::Counter* read_indexes_failed;
  metrics::Counter* slow_read_indexes;
  metrics::Histogram* defrag_duration;
  metrics::Histogram* snapshot_duration;
};

// Registers them in `registry` (or finds them there); `quota_bytes` <= 0 reads as no quota (0).
NodeMetrics register_node_metrics(metrics::Registry& registry, int64_t quota_bytes);

}  // namespace keel::server

#endif  // KEEL_SERVER_NODE_METRICS_H_
