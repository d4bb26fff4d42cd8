// keel::config::MemberConfig: everything a member is started with — etcd's server flags, keel's
// plugin choices and each plugin's own settings — after the config file, the ETCD_* environment
// and the command line have been merged (in that order of precedence, lowest first) and checked.
// It holds only what keeld reads: a flag keel does not serve yet is refused while parsing (unless
// given at its default) and has no field here.
#ifndef KEEL_CONFIG_MEMBER_CONFIG_H_
#define KEEL_CONFIG_MEMBER_CONFIG_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/url.h"
#include "keel/plugin.h"
#include "keel/plugin_config.h"

namespace keel::config {

struct InitialMember {
  std::string name;
  std::vector<Url> peer_urls;

  friend bool operator==(const InitialMember&, const InitialMember&) = default;
};

// Each plugin's settings by section ("backend.lmdb"). Its own type so that a MemberConfig compares
// as a value: PluginConfig has no operator== of its own.
struct PluginConfigs : std::map<std::string, PluginConfig> {
  using std::map<std::string, PluginConfig>::map;

  friend bool operator==(const PluginConfigs& a, const PluginConfigs& b);
};

struct MemberConfig {
  // Member.
  std::string name = "default";
  std::string data_dir = "default.keel";  // etcd: ${name}.etcd
  std::string wal_dir;                    // empty: <data_dir>/member/wal
  uint64_t snapshot_count = 10000;
  uint32_t max_snapshots = 5;
  uint32_t max_wals = 5;
  uint32_t heartbeat_interval_ms = 100;
  uint32_t election_timeout_ms = 1000;
  std::vector<Url> listen_peer_urls;
  std::vector<Url> listen_client_urls;
  std::vector<Url> listen_metrics_urls;
  int64_t quota_backend_bytes = 0;        // 0: 2 GiB; negative: no quota
  std::chrono::nanoseconds backend_batch_interval{std::chrono::milliseconds(100)};
  uint32_t backend_batch_limit = 10000;
  uint32_t max_txn_ops = 128;
  uint64_t max_request_bytes = 1572864;
  uint32_t max_concurrent_streams = UINT32_MAX;
  std::chrono::nanoseconds grpc_keepalive_min_time{std::chrono::seconds(5)};
  std::chrono::nanoseconds grpc_keepalive_interval{std::chrono::hours(2)};
  std::chrono::nanoseconds grpc_keepalive_timeout{std::chrono::seconds(20)};

  // Clustering.
  std::vector<Url> initial_advertise_peer_urls;
  std::vector<InitialMember> initial_cluster;
  bool initial_cluster_state_new = true;  // --initial-cluster-state new|existing
  std::string initial_cluster_token = "etcd-cluster";
  std::vector<Url> advertise_client_urls;
  bool strict_reconfig_check = true;
  bool pre_vote = true;
  std::string auto_compaction_mode = "periodic";  // periodic | revision
  // periodic: the retention period (0 = off); revision: revisions kept (0 = off).
  std::chrono::nanoseconds auto_compaction_period{0};
  int64_t auto_compaction_revisions = 0;
  bool force_new_cluster = false;

  // Observability and the rest.
  std::string log_level = "info";
  bool unsafe_no_fsync = false;
  std::chrono::nanoseconds watch_progress_notify_interval{std::chrono::minutes(10)};
  uint32_t compaction_batch_limit = 1000;
  uint64_t snapshot_catchup_entries = 5000;

  // keel: the plugins, and each plugin's settings ("backend.lmdb" -> its subtree).
  std::string plugin_dir;
  std::string backend = "lmdb";
  std::string transport = "grpc";
  std::string authenticator = "simple";
  std::string watch_hub = "default";
  PluginConfigs plugin_configs;

  // The chosen plugin of `kind` (a name or a .so path).
  const std::string& plugin_choice(PluginKind kind) const;
  // The settings of plugin `name` of `kind` (empty if the file has none).
  PluginConfig plugin_config(PluginKind kind, const std::string& name) const;
  // 2 GiB for 0, as etcd.
  int64_t effective_quota_backend_bytes() const;

  friend bool operator==(const MemberConfig&, const MemberConfig&) = default;
};

}  // namespace keel::config

#endif  // KEEL_CONFIG_MEMBER_CONFIG_H_
