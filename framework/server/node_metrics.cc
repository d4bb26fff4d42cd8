#include "server/node_metrics.h"

#include <algorithm>
#include <vector>

namespace keel::server {

NodeMetrics register_node_metrics(metrics::Registry& r, int64_t quota_bytes) {
  NodeMetrics m{};
  // etcd's bucket choice for both disk latencies: 1 ms to about 8 s, doubling.
  const std::vector<double> disk_buckets = metrics::exponential_buckets(0.001, 2, 14);
  m.proposals_committed =
      &r.gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.");
  m.proposals_applied =
      &r.gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.");
  m.proposals_pending = &r.gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.");
  m.proposals_failed = &r.counter("etcd_server_proposals_failed_total", "The total number of failed proposals seen.");
  m.has_leader = &r.gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.");
  m.is_leader = &r.gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.");
  m.is_learner = &r.gauge("etcd_server_is_learner", "Whether or not this member is a learner. 1 if is, 0 otherwise.");
  m.learner_promote_successes =
      &r.counter("etcd_server_learner_promote_successes",
                 "The total number of successful learner promotions while this member is leader.");
  m.learner_promote_failures = &r.counter_family(
      "etcd_server_learner_promote_failures",
      "The total number of failed learner promotions (likely learner not ready) while this member is leader.",
      {"Reason"});
  m.leader_changes = &r.counter("etcd_server_leader_changes_seen_total", "The number of leader changes seen.");
  m.wal_fsync = &r.histogram("etcd_disk_wal_fsync_duration_seconds",
                              "The latency distributions of fsync called by WAL.", disk_buckets);
  m.backend_commit = &r.histogram("etcd_disk_backend_commit_duration_seconds",
                                   "The latency distributions of commit called by backend.", disk_buckets);
  m.db_size = &r.gauge("etcd_mvcc_db_total_size_in_bytes",
                        "Total size of the underlying database physically allocated in bytes.");
  m.db_size_in_use = &r.gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
                               "Total size of the underlying database logically in use in bytes.");
  m.quota_bytes = &r.gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.");
  m.quota_bytes->set(static_cast<double>(std::max<int64_t>(quota_bytes, 0)));
  m.watchers = &r.gauge("etcd_debugging_mvcc_watcher_total", "Total number of watchers.");
  m.slow_watchers = &r.gauge("etcd_debugging_mvcc_slow_watcher_total", "Total number of unsynced slow watchers.");
  m.leases_expired = &r.counter("etcd_debugging_server_lease_expired_total", "The total number of expired leases.");
  m.leases_granted = &r.counter("etcd_debugging_lease_granted_total", "The total number of granted leases.");
  m.leases_revoked = &r.counter("etcd_debugging_lease_revoked_total", "The total number of revoked leases.");
  m.leases_renewed = &r.counter("etcd_debugging_lease_renewed_total",
                                 "The number of renewed leases seen by the leader.");
  m.lease_ttl = &r.histogram("etcd_debugging_lease_ttl_total", "Bucketed histogram of lease TTLs.",
                              metrics::exponential_buckets(1, 2, 24));
  m.puts = &r.counter("etcd_mvcc_put_total", "Total number of puts seen by this member.");
  m.deletes = &r.counter("etcd_mvcc_delete_total", "Total number of deletes seen by this member.");
  m.txns = &r.counter("etcd_mvcc_txn_total", "Total number of txns seen by this member.");
  m.ranges = &r.counter("etcd_mvcc_range_total", "Total number of ranges seen by this member.");
  m.compact_revision = &r.gauge("etcd_debugging_mvcc_compact_revision",
                                 "The revision of the last compaction in store.");
  m.slow_applies = &r.counter("etcd_server_slow_apply_total", "The total number of slow apply requests.");
  m.read_indexes_failed = &r.counter("etcd_server_read_indexes_failed_total",
                                      "The total number of failed read indexes seen.");
  m.slow_read_indexes = &r.counter("etcd_server_slow_read_indexes_total",
                                    "The total number of pending read indexes not in sync with leader's or timed out read index requests.");
  m.defrag_duration = &r.histogram("etcd_disk_backend_defrag_duration_seconds",
                                    "The latency distribution of backend defragmentation.",
                                    metrics::exponential_buckets(0.1, 2, 13));
  m.snapshot_duration = &r.histogram("etcd_disk_backend_snapshot_duration_seconds",
                                      "The latency distribution of backend snapshots.",
                                      metrics::exponential_buckets(0.01, 2, 17));
  return m;
}

}  // namespace keel::server
