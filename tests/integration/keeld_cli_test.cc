// keeld as a user runs it: its flags, its exit codes, its plugin loading — and that a refused
// start touches nothing on disk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "keel/plugin.h"
#include "process.h"

namespace keel::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kKeeld = KEELD_PATH;
const std::string kGood = std::string(TEST_PLUGIN_ROOT) + "/good";
const std::string kBad = std::string(TEST_PLUGIN_ROOT) + "/bad";

class KeeldCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/keeld-cli-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProcessResult keeld(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> checked{"--check"};
    checked.insert(checked.end(), args.begin(), args.end());
    return run_process(kKeeld, checked, dir_, env);
  }
  // Everything keeld left in its working folder.
  std::vector<std::string> left_behind() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }

  std::string dir_;
};

// The test plugins of every kind, chosen by name from a plugin dir.
const std::vector<std::string> kTestPlugins = {"--plugin-dir", kGood, "--backend", "test-backend",
                                               "--transport", "test-transport", "--auth-token",
                                               "test-authenticator", "--watch-hub", "test-watch-hub"};

TEST_F(KeeldCli, HelpListsEtcdFlags) {
  ProcessResult r = keeld({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("--listen-client-urls"));
  EXPECT_THAT(r.out, HasSubstr("--initial-cluster-state"));
  EXPECT_THAT(r.out, HasSubstr("ETCD_DATA_DIR"));
}

TEST_F(KeeldCli, Version) {
  ProcessResult r = keeld({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("keeld Version: "));
  EXPECT_THAT(r.out, HasSubstr("keel plugin ABI: " + std::to_string(kAbiVersion)));
}

TEST_F(KeeldCli, RunsWithChosenPluginsOfEveryKind) {
  ProcessResult r = keeld(kTestPlugins);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("backend                test-backend 1.2.3 (" + kGood + "/good-backend.so)"));
  EXPECT_THAT(r.out, HasSubstr("transport              test-transport 0.0.1"));
  EXPECT_THAT(r.out, HasSubstr("authenticator          test-authenticator 0.0.1"));
  EXPECT_THAT(r.out, HasSubstr("watch_hub              test-watch-hub 0.0.1"));
  EXPECT_THAT(r.err, HasSubstr("test backend made"));  // the plugin logged through keeld's logger
  EXPECT_THAT(left_behind(), ::testing::IsEmpty());
}

TEST_F(KeeldCli, WithNoArgumentsUsesEtcdsDefaultsAndKeelsEngines) {
  ProcessResult r = keeld({});
  EXPECT_THAT(r.out, HasSubstr("member default"));
  EXPECT_THAT(r.out, HasSubstr("data dir               default.keel"));
  EXPECT_THAT(r.out, HasSubstr("listen client urls     http://127.0.0.1:2379"));
  EXPECT_THAT(r.out, HasSubstr("listen peer urls       http://127.0.0.1:2380"));
  EXPECT_THAT(r.out, HasSubstr("initial cluster        default=http://127.0.0.1:2380 (new)"));
  EXPECT_THAT(r.out, HasSubstr("backend                lmdb"));
  EXPECT_THAT(r.out, HasSubstr("transport              grpc"));
  EXPECT_THAT(r.out, HasSubstr("authenticator          simple"));
  EXPECT_THAT(r.out, HasSubstr("watch_hub              default"));
  // Every default engine is built and loads; keeld is ready to run, without touching the data dir.
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("keeld: configuration and plugins are in place."));
  EXPECT_THAT(left_behind(), ::testing::IsEmpty());
}

TEST_F(KeeldCli, EnvironmentVariablesAreRead) {
  std::vector<std::string> args = kTestPlugins;
  ProcessResult r = keeld(args, {{"ETCD_NAME", "from-env"}, {"ETCD_DATA_DIR", dir_ + "/data"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("member from-env"));
  EXPECT_THAT(r.out, HasSubstr("data dir               " + dir_ + "/data"));
}

TEST_F(KeeldCli, BadFlagsExitTwoBeforeTouchingTheDataDir) {
  const std::string data = dir_ + "/data";
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--no-such-flag"}, "keeld: unknown flag or argument: --no-such-flag"},
      {{"--snapshot-count", "x"}, "keeld: invalid value \"x\" for flag --snapshot-count"},
      {{"--listen-peer-urls", "127.0.0.1:2380"}, "keeld: invalid value \"127.0.0.1:2380\" for flag --listen-peer-urls"},
      {{"--initial-cluster", "a=http://1.2.3.4:2380"}, "keeld: couldn't find local name \"default\""},
      {{"--config", dir_ + "/missing.ini"}, "keeld: cannot read config file"},
      // A flag keel does not serve yet: refused by name, by a start and by --check alike.
      {{"--cert-file", "x"}, "keeld: --cert-file is not supported by keel yet"},
      {{"--check", "--cert-file", "x"}, "keeld: --cert-file is not supported by keel yet"},
      {{"--check", "--listen-client-urls", "https://127.0.0.1:2379"}, "https"},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    std::vector<std::string> args = cases[i].args;
    args.insert(args.end(), {"--data-dir", data});
    ProcessResult r = keeld(args);
    EXPECT_EQ(r.exit_code, 2) << "#" << i << " " << r.err;
    EXPECT_THAT(r.err, HasSubstr(cases[i].message)) << "#" << i;
    EXPECT_FALSE(std::filesystem::exists(data)) << "#" << i;
  }
}

TEST_F(KeeldCli, AConfigFileChoosesPluginsAndGivesThemSettings) {
  std::ofstream(dir_ + "/keel.ini") << "[plugins]\ndir = " << kGood
                                    << "\nbackend = test-backend\ntransport = test-transport\n"
                                       "authenticator = test-authenticator\nwatch_hub = test-watch-hub\n"
                                       "[member]\nname = from-file\n"
                                       "[backend.test-backend]\nknob = 2MiB\n";
  ProcessResult r = keeld({"--config", "keel.ini"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("member from-file"));

  // A setting the plugin refuses stops keeld, naming the plugin and the setting.
  std::ofstream(dir_ + "/bad.ini") << "[plugins]\ndir = " << kGood
                                   << "\nbackend = test-backend\n[backend.test-backend]\nknob = plenty\n";
  r = keeld({"--config", "bad.ini", "--transport", "test-transport", "--auth-token", "test-authenticator",
             "--watch-hub", "test-watch-hub"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("bad value \"plenty\" for backend.test-backend.knob"));
}

TEST_F(KeeldCli, PluginsAreSearchedInKeelPluginPath) {
  std::vector<std::string> args(kTestPlugins.begin() + 2, kTestPlugins.end());  // no --plugin-dir
  ProcessResult r = keeld(args, {{"KEEL_PLUGIN_PATH", kBad + ":" + kGood}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(kGood + "/good-backend.so"));
}

TEST_F(KeeldCli, ListPluginsShowsEachFileAndWhetherItLoads) {
  ProcessResult r = keeld({"--list-plugins"}, {{"KEEL_PLUGIN_PATH", kGood + ":" + kBad}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("looked in: " + kGood + " " + kBad));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("backend +test-backend +1\\.2\\.3 +" + kGood + "/good-backend\\.so +loads"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("transport +test-transport +0\\.0\\.1 .* loads"));
  EXPECT_THAT(r.out, HasSubstr(kBad + "/wrong-abi.so  refused: " + kBad + "/wrong-abi.so was built for keel plugin ABI version " +
                                   std::to_string(kAbiVersion + 1)));
  EXPECT_THAT(r.out, HasSubstr("refused: " + kBad + "/no-entry.so is not a keel plugin"));
}

TEST_F(KeeldCli, AChoiceOfTheWrongKindIsRefused) {
  std::vector<std::string> args = kTestPlugins;
  args[3] = kGood + "/good-transport.so";  // as the backend
  ProcessResult r = keeld(args);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr(kGood + "/good-transport.so is a transport plugin (\"test-transport\"), but it "
                                       "was chosen as the backend"));
  EXPECT_THAT(r.out, Not(HasSubstr("in place")));
}

}  // namespace
}  // namespace keel::testing
