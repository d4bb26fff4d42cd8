#include "config/config_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "temp_file.h"

namespace keel::config {
namespace {

using ::testing::HasSubstr;

TEST(ConfigFile, ReadsIniSections) {
  TempFile f("keel.ini",
             "[plugins]\n"
             "dir = /opt/keel\n"
             "backend = leveldb\n"
             "[member]\n"
             "name = infra1\n"
             "data-dir = /var/lib/keel\n"
             "[backend.leveldb]\n"
             "cache_size = 64MiB\n"
             "compression = none\n");
  Result<ConfigFile> file = read_config_file(f.path());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->plugins.at("dir"), "/opt/keel");
  EXPECT_EQ(file->plugins.at("backend"), "leveldb");
  EXPECT_EQ(file->member.at("name"), "infra1");
  EXPECT_EQ(file->member.at("data-dir"), "/var/lib/keel");
  const PluginConfig& leveldb = file->plugin_configs.at("backend.leveldb");
  EXPECT_EQ(leveldb.section(), "backend.leveldb");
  EXPECT_EQ(*leveldb.get_size("cache_size", 0), 64u << 20);
  EXPECT_EQ(*leveldb.get_string("compression", "snappy"), "none");
}

TEST(ConfigFile, ReadsTheSameTreeFromJson) {
  TempFile f("keel.json", R"({
    "plugins": {"backend": "lmdb", "watch_hub": "default"},
    "member": {"name": "infra2"},
    "backend": {"lmdb": {"map_size": "8GiB", "tuning": {"readers": "126"}}}
  })");
  Result<ConfigFile> file = read_config_file(f.path());
  ASSERT_TRUE(file.ok()) << file.status().to_string();
  EXPECT_EQ(file->plugins.at("watch_hub"), "default");
  EXPECT_EQ(file->member.at("name"), "infra2");
  const PluginConfig& lmdb = file->plugin_configs.at("backend.lmdb");
  EXPECT_EQ(*lmdb.get_size("map_size", 0), uint64_t{8} << 30);
  EXPECT_EQ(*lmdb.get_string("tuning.readers", ""), "126");  // nested keys are dotted
}

TEST(ConfigFile, RefusesWhatItCannotUse) {
  struct Case {
    const char* name;
    const char* content;
    const char* message;
  } cases[] = {
      {"a.ini", "[plugin]\nbackend = lmdb\n", "unknown section \"plugin\""},
      {"b.ini", "[plugins]\nbakend = lmdb\n", "unknown key \"bakend\" in [plugins]"},
      {"c.ini", "[member\nname = x\n", "line 1"},
      {"d.json", "{\"member\": {\"name\": }", "d.json line 1"},
      {"e.json", "{\"member\": {\"name\": {\"x\": \"y\"}}}", "[member] name must be a value, not a section"},
      {"f.ini", "[storage.lmdb]\nx = 1\n", "unknown section \"storage.lmdb\""},
      {"g.json", "{\"backend\": \"leveldb\"}", "\"backend\" must be a section; choose the backend in [plugins]"},
      {"h.ini", "backend = leveldb\n[member]\nname = x\n", "\"backend\" must be a section"},
      {"i.ini", "[backend]\nmap_size = 1GiB\n", "settings under [backend] belong to a plugin"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    TempFile f(cases[i].name, cases[i].content);
    Result<ConfigFile> file = read_config_file(f.path());
    ASSERT_FALSE(file.ok()) << "#" << i;
    EXPECT_TRUE(file.status().is_invalid_argument()) << "#" << i;
    EXPECT_THAT(file.status().message(), HasSubstr(f.path())) << "#" << i;
    EXPECT_THAT(file.status().message(), HasSubstr(cases[i].message)) << "#" << i;
  }
}

TEST(ConfigFile, RefusesAMissingFile) {
  Result<ConfigFile> file = read_config_file("/nonexistent/keel.ini");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().message(), "cannot read config file /nonexistent/keel.ini");
}

TEST(PluginConfig, TypedGettersNameTheKeyInTheirErrors) {
  PluginConfig c("backend.lmdb", {{"map_size", "12Q"}, {"sync", "maybe"}, {"big", "20000000TiB"}});
  EXPECT_EQ(c.get_size("map_size", 0).status().message(),
            "bad value \"12Q\" for backend.lmdb.map_size: expected a number with an optional "
            "KiB/MiB/GiB/TiB suffix");
  EXPECT_EQ(c.get_bool("sync", true).status().message(),
            "bad value \"maybe\" for backend.lmdb.sync: expected true or false");
  EXPECT_FALSE(c.get_size("big", 0).ok());
  EXPECT_EQ(*c.get_size("absent", 7), 7u);
  EXPECT_EQ(c.check_known_keys({"map_size", "sync", "big"}), Status::OK());
  EXPECT_EQ(c.check_known_keys({"map_size"}).message(),
            "unknown settings backend.lmdb.big backend.lmdb.sync (known: map_size)");
}

}  // namespace
}  // namespace keel::config
