// etcd's flags as keeld takes them: defaults, the sources and their precedence, and every refusal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "config/config.h"
#include "temp_file.h"

namespace keel::config {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

Result<Invocation> parse(std::vector<std::string> args, Environment env = {}) {
  return parse_invocation(args, env);
}

MemberConfig config_of(std::vector<std::string> args, Environment env = {}) {
  Result<Invocation> inv = parse(std::move(args), std::move(env));
  EXPECT_TRUE(inv.ok()) << inv.status().to_string();
  return inv.ok() ? inv->config : MemberConfig{};
}

TEST(Flags, NoArgumentsGiveTheDefaults) {
  Result<Invocation> inv = parse({});
  ASSERT_TRUE(inv.ok()) << inv.status().to_string();
  EXPECT_EQ(inv->action, Action::kRun);
  const MemberConfig& c = inv->config;
  EXPECT_EQ(c.name, "default");
  EXPECT_EQ(c.data_dir, "default.keel");
  EXPECT_EQ(join_urls(c.listen_client_urls), "http://127.0.0.1:2379");
  EXPECT_EQ(join_urls(c.advertise_client_urls), "http://127.0.0.1:2379");
  EXPECT_EQ(join_urls(c.listen_peer_urls), "http://127.0.0.1:2380");
  EXPECT_EQ(join_urls(c.initial_advertise_peer_urls), "http://127.0.0.1:2380");
  ASSERT_EQ(c.initial_cluster.size(), 1u);
  EXPECT_EQ(c.initial_cluster[0].name, "default");
  EXPECT_EQ(join_urls(c.initial_cluster[0].peer_urls), "http://127.0.0.1:2380");
  EXPECT_TRUE(c.initial_cluster_state_new);
  EXPECT_EQ(c.initial_cluster_token, "etcd-cluster");
  EXPECT_EQ(c.snapshot_count, 10000u);
  EXPECT_EQ(c.snapshot_catchup_entries, 5000u);
  EXPECT_EQ(c.heartbeat_interval_ms, 100u);
  EXPECT_EQ(c.election_timeout_ms, 1000u);
  EXPECT_EQ(c.max_request_bytes, 1572864u);
  EXPECT_EQ(c.max_txn_ops, 128u);
  EXPECT_EQ(c.effective_quota_backend_bytes(), int64_t{2} << 30);
  EXPECT_EQ(c.max_snapshots, 5u);
  EXPECT_EQ(c.max_wals, 5u);
  EXPECT_TRUE(c.pre_vote);
  EXPECT_TRUE(c.strict_reconfig_check);
  EXPECT_EQ(c.grpc_keepalive_min_time, 5s);
  EXPECT_EQ(c.grpc_keepalive_interval, 2h);
  EXPECT_EQ(c.auto_compaction_mode, "periodic");
  EXPECT_EQ(c.auto_compaction_period, 0s);
  EXPECT_FALSE(c.unsafe_no_fsync);
  EXPECT_EQ(c.backend, "lmdb");
  EXPECT_EQ(c.transport, "grpc");
  EXPECT_EQ(c.authenticator, "simple");
  EXPECT_EQ(c.watch_hub, "default");
}

TEST(Flags, TheNameNamesTheDataDirAndTheInitialCluster) {
  MemberConfig c = config_of({"--name", "infra1"});
  EXPECT_EQ(c.data_dir, "infra1.keel");
  ASSERT_EQ(c.initial_cluster.size(), 1u);
  EXPECT_EQ(c.initial_cluster[0].name, "infra1");
}

TEST(Flags, TakesGoStyleSpellings) {
  MemberConfig c = config_of({"-name=a", "--data-dir=/d", "--snapshot-count", "5", "--force-new-cluster",
                              "--pre-vote=false", "-initial-cluster-token", "tok",
                              "--experimental-snapshot-catchup-entries=20"});
  EXPECT_EQ(c.name, "a");
  EXPECT_EQ(c.snapshot_catchup_entries, 20u);
  EXPECT_EQ(c.data_dir, "/d");
  EXPECT_EQ(c.snapshot_count, 5u);
  EXPECT_TRUE(c.force_new_cluster);
  EXPECT_FALSE(c.pre_vote);
  EXPECT_EQ(c.initial_cluster_token, "tok");
}

TEST(Flags, ACluster) {
  MemberConfig c = config_of(
      {"--name", "n2", "--initial-advertise-peer-urls", "http://10.0.0.2:2380",
       "--listen-peer-urls", "http://10.0.0.2:2380", "--listen-client-urls",
       "http://10.0.0.2:2379,http://127.0.0.1:2379", "--advertise-client-urls", "http://10.0.0.2:2379",
       "--initial-cluster", "n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380,n3=http://10.0.0.3:2380",
       "--initial-cluster-state", "existing"});
  ASSERT_EQ(c.initial_cluster.size(), 3u);
  EXPECT_EQ(c.initial_cluster[2].name, "n3");
  EXPECT_FALSE(c.initial_cluster_state_new);
  EXPECT_EQ(c.listen_client_urls.size(), 2u);
}

TEST(Flags, AMemberMayHaveSeveralPeerUrls) {
  MemberConfig c = config_of({"--initial-advertise-peer-urls", "http://a:1,http://b:2", "--initial-cluster",
                              "default=http://b:2,default=http://a:1"});
  ASSERT_EQ(c.initial_cluster.size(), 1u);
  EXPECT_EQ(c.initial_cluster[0].peer_urls.size(), 2u);
}

TEST(Flags, EnvironmentVariablesSetFlags) {
  MemberConfig c = config_of({}, {{"ETCD_NAME", "envname"}, {"ETCD_SNAPSHOT_COUNT", "77"},
                                  {"ETCD_PRE_VOTE", "false"}, {"KEEL_BACKEND", "leveldb"}});
  EXPECT_EQ(c.name, "envname");
  EXPECT_EQ(c.snapshot_count, 77u);
  EXPECT_FALSE(c.pre_vote);
  EXPECT_EQ(c.backend, "leveldb");
  EXPECT_EQ(env_name_for_flag("listen-client-urls"), "ETCD_LISTEN_CLIENT_URLS");
  EXPECT_EQ(env_name_for_flag("plugin-dir"), "KEEL_PLUGIN_DIR");
}

TEST(Flags, CommandLineBeatsEnvironmentBeatsFileBeatsDefault) {
  TempFile f("keel.ini",
             "[member]\nname = from-file\nsnapshot-count = 1\nmax-wals = 9\nmax-snapshots = 8\n"
             "[plugins]\nbackend = leveldb\ntransport = tcp\ndir = /file/plugins\n"
             "[backend.leveldb]\ncache_size = 1MiB\n");
  MemberConfig c = config_of({"--config", f.path(), "--snapshot-count", "3", "--backend", "lmdb"},
                             {{"ETCD_SNAPSHOT_COUNT", "2"}, {"ETCD_MAX_WALS", "7"}});
  EXPECT_EQ(c.name, "from-file");     // file over default
  EXPECT_EQ(c.max_snapshots, 8u);     // file over default
  EXPECT_EQ(c.max_wals, 7u);          // environment over file
  EXPECT_EQ(c.snapshot_count, 3u);    // command line over environment and file
  EXPECT_EQ(c.backend, "lmdb");       // keel's flag over [plugins]
  EXPECT_EQ(c.transport, "tcp");      // [plugins] over default
  EXPECT_EQ(c.plugin_dir, "/file/plugins");
  EXPECT_EQ(*c.plugin_config(PluginKind::kBackend, "leveldb").get_size("cache_size", 0), 1u << 20);
  EXPECT_EQ(c.plugin_config(PluginKind::kBackend, "lmdb").values().size(), 0u);
}

TEST(Flags, TheConfigFileMayComeFromTheEnvironment) {
  TempFile f("keel.json", R"({"member": {"name": "json-member"}})");
  MemberConfig c = config_of({}, {{"KEEL_CONFIG", f.path()}});
  EXPECT_EQ(c.name, "json-member");
}

TEST(Flags, AuthTokenChoosesTheAuthenticatorAndItsSettings) {
  MemberConfig c = config_of({"--auth-token", "jwt,pub-key=/k.pub,priv-key=/k,sign-method=RS256,ttl=10m"});
  EXPECT_EQ(c.authenticator, "jwt");
  PluginConfig jwt = c.plugin_config(PluginKind::kAuthenticator, "jwt");
  EXPECT_EQ(*jwt.get_string("pub-key", ""), "/k.pub");
  EXPECT_EQ(*jwt.get_string("sign-method", ""), "RS256");
  EXPECT_EQ(*jwt.get_string("ttl", ""), "10m");

  TempFile f("keel.ini", "[plugins]\nauthenticator = custom\n");
  EXPECT_EQ(config_of({"--config", f.path()}).authenticator, "custom");
  EXPECT_EQ(config_of({"--config", f.path(), "--auth-token", "simple"}).authenticator, "simple");
}

TEST(Flags, AutoCompaction) {
  MemberConfig c = config_of({"--auto-compaction-retention", "1"});
  EXPECT_EQ(c.auto_compaction_period, 1h);
  c = config_of({"--auto-compaction-retention", "30m"});
  EXPECT_EQ(c.auto_compaction_period, 30min);
  c = config_of({"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1000"});
  EXPECT_EQ(c.auto_compaction_revisions, 1000);
}

TEST(Flags, HelpVersionAndListPlugins) {
  Result<Invocation> inv = parse({"--help"});
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->action, Action::kHelp);
  // Every flag is listed, with its environment variable.
  for (const char* flag : {"--name", "--data-dir", "--listen-client-urls", "--advertise-client-urls",
                           "--listen-peer-urls", "--initial-advertise-peer-urls", "--initial-cluster",
                           "--initial-cluster-state", "--initial-cluster-token", "--snapshot-count",
                           "--quota-backend-bytes", "--max-request-bytes", "--max-txn-ops",
                           "--heartbeat-interval", "--election-timeout", "--auto-compaction-mode",
                           "--auto-compaction-retention", "--auth-token", "--unsafe-no-fsync",
                           "--config", "--list-plugins", "ETCD_LISTEN_CLIENT_URLS"}) {
    EXPECT_THAT(inv->help, HasSubstr(flag));
  }
  // The flags keel does not serve are grouped as such, not as accepted.
  EXPECT_THAT(inv->help, HasSubstr("Not supported by keel yet (refused unless at the default)"));
  EXPECT_THAT(inv->help, Not(HasSubstr("Accepted for etcd compatibility")));
  EXPECT_THAT(inv->help, HasSubstr("2 for a bad or unsupported flag"));  // --check's exit codes
  EXPECT_EQ(parse({"--version"})->action, Action::kVersion);
  EXPECT_EQ(parse({"--list-plugins"})->action, Action::kListPlugins);
}

TEST(Flags, RefusesBadInputNamingIt) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--bogus"}, "unknown flag or argument: --bogus"},
      {{"stray"}, "unknown flag or argument: stray"},
      {{"--snapshot-count", "many"}, "invalid value \"many\" for flag --snapshot-count: parse error"},
      {{"--snapshot-count", "0"}, "invalid value \"0\" for flag --snapshot-count: must be between 1 and"},
      {{"--experimental-snapshot-catchup-entries", "0"},
       "invalid value \"0\" for flag --experimental-snapshot-catchup-entries: must be between 1 and"},
      {{"--max-txn-ops", "-1"}, "invalid value \"-1\" for flag --max-txn-ops"},
      {{"--pre-vote=perhaps"}, "Could not convert: --pre-vote"},
      {{"--listen-client-urls", "localhost:2379", "--advertise-client-urls", "http://a:1"},
       "invalid value \"localhost:2379\" for flag --listen-client-urls: URL scheme must be http or https"},
      {{"--listen-client-urls", "http://a:1"},
       "--advertise-client-urls is required when --listen-client-urls is set explicitly"},
      {{"--initial-advertise-peer-urls", "http://a:1/x"}, "URL must not contain a path: http://a:1/x"},
      {{"--initial-cluster", "default"}, "entry \"default\" is not name=URL"},
      {{"--initial-cluster", "other=http://127.0.0.1:2380"},
       "couldn't find local name \"default\" in the initial cluster configuration"},
      {{"--initial-cluster", "default=http://10.0.0.9:2380"},
       "--initial-cluster has default=http://10.0.0.9:2380 but missing from "
       "--initial-advertise-peer-urls=http://127.0.0.1:2380"},
      {{"--initial-cluster", "default=http://127.0.0.1:2380,b=http://127.0.0.1:2380"},
       "URL http://127.0.0.1:2380 is given for both default and b"},
      {{"--initial-cluster-state", "old"}, "valid values are \"new\" or \"existing\""},
      {{"--election-timeout", "400"},
       "--election-timeout[400ms] should be at least as 5 times as --heartbeat-interval[100ms]"},
      {{"--election-timeout", "60000"}, "--election-timeout[60000ms] is too long, and should be set less than 50000ms"},
      {{"--auto-compaction-mode", "hourly"}, "valid values are \"periodic\" or \"revision\""},
      {{"--auto-compaction-retention", "soon"}, "time: invalid duration \"soon\""},
      {{"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h"},
       "invalid value \"1h\" for flag --auto-compaction-retention"},
      {{"--grpc-keepalive-min-time", "5"}, "for flag --grpc-keepalive-min-time: time: invalid duration"},
      {{"--discovery", "https://discovery.etcd.io/x"}, "--discovery is not supported by keel"},
      {{"--enable-v2"}, "--enable-v2 is not supported by keel"},
      {{"--log-level", "loud"}, "for flag --log-level"},
      {{"--bcrypt-cost", "3"}, "--bcrypt-cost is not supported by keel yet (given \"3\"; only its default \"10\""},
      {{"--cert-file", "/c.pem"}, "--cert-file is not supported by keel yet"},
      {{"--peer-key-file", "/k.pem"}, "--peer-key-file is not supported by keel yet"},
      {{"--experimental-enable-lease-checkpoint=false"},
       "--experimental-enable-lease-checkpoint=false is not supported by keel: leases are always checkpointed"},
      {{"--listen-client-urls", "https://127.0.0.1:2379", "--advertise-client-urls", "https://127.0.0.1:2379"},
       "--listen-client-urls https://127.0.0.1:2379: TLS on client URLs is not supported by keel yet"},
      {{"--listen-peer-urls", "https://127.0.0.1:2380"},
       "--listen-peer-urls https://127.0.0.1:2380: TLS on peer URLs is not supported by keel yet"},
      {{"--listen-metrics-urls", "https://127.0.0.1:2381"},
       "--listen-metrics-urls https://127.0.0.1:2381: TLS on metrics URLs is not supported by keel yet"},
      {{"--config", "/nonexistent.ini"}, "cannot read config file /nonexistent.ini"},
      {{"--name", ""}, "invalid value \"\" for flag --name: must not be empty"},
      {{"--backend", "lmdb", "--auth-token", ",x"}, "for flag --auth-token: no token type given"},
      {{"--auto-tls"}, "--auto-tls is not supported by keel"},
      {{"--peer-auto-tls=true"}, "--peer-auto-tls is not supported by keel"},
      {{"--config-file", "/etc/etcd.yaml"}, "etcd's --config-file (YAML) is not read by keel"},
      {{"--proxy", "on"}, "--proxy is not supported by keel"},
      {{"--auto-compaction-retention", "9999999999"}, "for flag --auto-compaction-retention"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    Result<Invocation> inv = parse(cases[i].args);
    ASSERT_FALSE(inv.ok()) << "#" << i;
    EXPECT_TRUE(inv.status().is_invalid_argument()) << "#" << i;
    EXPECT_THAT(inv.status().message(), HasSubstr(cases[i].message)) << "#" << i;
  }
}

TEST(Flags, TakesUnservedFlagsSpelledOutAtTheirDefaults) {
  // An etcd command line that spells out the defaults keel keeps works unchanged.
  MemberConfig c = config_of({"--cors", "", "--host-whitelist", "*", "--debug=false", "--logger", "zap",
                              "--log-outputs", "default", "--client-cert-auth=0", "--proxy", "off",
                              "--experimental-enable-lease-checkpoint", "--tls-min-version", "TLS1.2",
                              "--experimental-corrupt-check-time", "0s", "--bcrypt-cost", "10"});
  EXPECT_EQ(c, config_of({}));
}

// Every flag keel parses and does not serve: refused by name from every source when it asks for
// something other than its default, taken at its default. Walks the table, so a flag added later
// is covered.
TEST(Flags, EveryUnservedFlagIsRefusedByNameUnlessAtItsDefault) {
  int unserved = 0;
  for (const FlagInfo& f : known_flags()) {
    if (f.served) continue;
    ++unserved;
    SCOPED_TRACE(f.name);
    std::string other = f.is_bool ? (f.default_value == "true" ? "false" : "true") : "keel-test-value";
    TempFile file("keel.ini", "[member]\n" + f.name + " = " + other + "\n");
    for (Result<Invocation> inv : {parse({"--" + f.name + "=" + other}),
                                   parse({}, {{env_name_for_flag(f.name), other}}),
                                   parse({"--config", file.path()})}) {
      ASSERT_FALSE(inv.ok());
      EXPECT_TRUE(inv.status().is_invalid_argument());
      EXPECT_THAT(inv.status().message(), HasSubstr("--" + f.name));
      EXPECT_THAT(inv.status().message(), HasSubstr("by keel"));
    }
    // The command line cannot give an empty value ("--cors=" is missing one): the environment can.
    std::vector<Result<Invocation>> at_default{parse({}, {{env_name_for_flag(f.name), f.default_value}})};
    if (!f.default_value.empty()) at_default.push_back(parse({"--" + f.name + "=" + f.default_value}));
    for (const Result<Invocation>& inv : at_default) {
      ASSERT_TRUE(inv.ok()) << inv.status().to_string();
      EXPECT_EQ(inv->config, config_of({}));
    }
  }
  EXPECT_GT(unserved, 0);
}

// Every flag keel serves reaches the MemberConfig that keeld reads: another valid value makes
// another config. A served flag without an alternative here fails the test, so a new flag is
// either given one or marked as not served.
TEST(Flags, EveryServedFlagChangesTheConfig) {
  TempFile file("keel.ini", "[member]\nname = from-file\n");
  const std::map<std::string, std::string> alternatives = {
      {"name", "other"},
      {"data-dir", "/elsewhere"},
      {"wal-dir", "/wal"},
      {"snapshot-count", "20000"},
      {"heartbeat-interval", "50"},
      {"election-timeout", "2000"},
      {"listen-peer-urls", "http://127.0.0.1:3380"},
      {"listen-client-urls", "http://127.0.0.1:3379"},
      {"listen-metrics-urls", "http://127.0.0.1:3381"},
      {"max-snapshots", "6"},
      {"max-wals", "6"},
      {"quota-backend-bytes", "1024"},
      {"backend-batch-interval", "50ms"},
      {"backend-batch-limit", "5"},
      {"max-txn-ops", "64"},
      {"max-request-bytes", "1024"},
      {"max-concurrent-streams", "16"},
      {"grpc-keepalive-min-time", "1s"},
      {"grpc-keepalive-interval", "1h"},
      {"grpc-keepalive-timeout", "10s"},
      {"initial-advertise-peer-urls", "http://127.0.0.1:3380"},
      {"initial-cluster", "default=http://127.0.0.1:2380,b=http://127.0.0.1:3380"},
      {"initial-cluster-state", "existing"},
      {"initial-cluster-token", "other-token"},
      {"advertise-client-urls", "http://127.0.0.1:3379"},
      {"strict-reconfig-check", "false"},
      {"pre-vote", "false"},
      {"auto-compaction-retention", "1"},
      {"auto-compaction-mode", "revision"},
      {"force-new-cluster", "true"},
      {"auth-token", "jwt"},
      {"log-level", "debug"},
      {"unsafe-no-fsync", "true"},
      {"experimental-watch-progress-notify-interval", "1m"},
      {"experimental-compaction-batch-limit", "10"},
      {"experimental-snapshot-catchup-entries", "10"},
      {"config", file.path()},
      {"plugin-dir", "/opt/plugins"},
      {"backend", "leveldb"},
      {"transport", "tcp"},
      {"watch-hub", "other"},
  };
  // What both parses need for an alternative to be valid.
  const std::map<std::string, std::vector<std::string>> needs = {
      {"listen-client-urls", {"--advertise-client-urls", "http://127.0.0.1:2379"}},
  };
  std::set<std::string> served;
  for (const FlagInfo& f : known_flags()) {
    if (!f.served) continue;
    served.insert(f.name);
    SCOPED_TRACE(f.name);
    auto alternative = alternatives.find(f.name);
    ASSERT_NE(alternative, alternatives.end()) << "give --" << f.name << " an alternative value here";
    auto need = needs.find(f.name);
    std::vector<std::string> args = need != needs.end() ? need->second : std::vector<std::string>{};
    MemberConfig before = config_of(args);
    args.push_back("--" + f.name + "=" + alternative->second);
    EXPECT_NE(config_of(args), before);
  }
  for (const auto& [name, alternative] : alternatives) {
    EXPECT_EQ(served.count(name), 1u) << "--" << name << " is not a served flag";
  }
}

TEST(Flags, RefusesBadEnvironmentAndFileValuesNamingTheFlag) {
  Result<Invocation> inv = parse({}, {{"ETCD_HEARTBEAT_INTERVAL", "fast"}});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("invalid value \"fast\" for flag --heartbeat-interval"));

  TempFile f("keel.ini", "[member]\nlisten-peer-url = http://a:1\n");
  inv = parse({"--config", f.path()});
  ASSERT_FALSE(inv.ok());
  EXPECT_THAT(inv.status().message(), HasSubstr("unknown flag \"listen-peer-url\" in [member]"));

  TempFile g("keel.ini", "[member]\nbackend = lmdb\n");
  inv = parse({"--config", g.path()});
  ASSERT_FALSE(inv.ok()) << "keel's own flags belong in [plugins], not [member]";
}

}  // namespace
}  // namespace keel::config
