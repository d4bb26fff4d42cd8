// The plugin host: loads good plugins, and refuses each bad case with a message naming the file
// and what was expected (tests/unit/plugin_host/CMakeLists.txt builds the plugins).
#include "plugin_host/plugin_host.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace keel::plugin_host {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kRoot = TEST_PLUGIN_ROOT;
const std::string kGood = kRoot + "/good";
const std::string kBad = kRoot + "/bad";
const std::string kDup = kRoot + "/dup";

class CapturingLogger : public Logger {
 public:
  void log(LogLevel, std::string_view message) override { lines.emplace_back(message); }
  std::vector<std::string> lines;
};

TEST(PluginHost, LoadsAGoodPluginByName) {
  PluginHost host({kGood});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "test-backend");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->name(), "test-backend");
  EXPECT_EQ(p->version(), "1.2.3");
  EXPECT_EQ(p->kind(), PluginKind::kBackend);
  EXPECT_EQ(p->path, kGood + "/good-backend.so");
}

TEST(PluginHost, LoadsAGoodPluginByPath) {
  PluginHost host({});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kTransport, kGood + "/good-transport.so");
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_EQ(p->name(), "test-transport");
}

TEST(PluginHost, MakesTheEngineThroughItsFactory) {
  PluginHost host({kGood});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "test-backend");
  ASSERT_TRUE(p.ok());
  PluginConfig settings("backend.test-backend", {{"knob", "4KiB"}});
  CapturingLogger logger;
  auto engine = create_backend(*p, PluginContext{settings, logger});
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  EXPECT_THAT(logger.lines, ::testing::ElementsAre("test backend made"));
  // The engine is the plugin's own object: its behaviour comes from the .so.
  Result<std::unique_ptr<Backend>> store = (*engine)->open(BackendOptions{"/nonexistent", false});
  EXPECT_TRUE(store.status().is_not_supported());
}

TEST(PluginHost, AFactoryRefusingItsSettingsIsReportedWithThePlugin) {
  PluginHost host({kGood});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "test-backend");
  ASSERT_TRUE(p.ok());
  CapturingLogger logger;
  PluginConfig typo("backend.test-backend", {{"nob", "1"}});
  auto engine = create_backend(*p, PluginContext{typo, logger});
  ASSERT_FALSE(engine.ok());
  EXPECT_TRUE(engine.status().is_invalid_argument());
  EXPECT_THAT(engine.status().message(),
              AllOf(HasSubstr("backend plugin \"test-backend\""), HasSubstr("good-backend.so"),
                    HasSubstr("unknown setting backend.test-backend.nob")));

  PluginConfig bad_value("backend.test-backend", {{"knob", "lots"}});
  engine = create_backend(*p, PluginContext{bad_value, logger});
  ASSERT_FALSE(engine.ok());
  EXPECT_THAT(engine.status().message(), HasSubstr("bad value \"lots\" for backend.test-backend.knob"));
}

TEST(PluginHost, RefusesAMissingFile) {
  PluginHost host({});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, kRoot + "/nowhere/keel-x.so");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().is_not_found());
  EXPECT_THAT(p.status().message(), HasSubstr("plugin file " + kRoot + "/nowhere/keel-x.so does not exist"));
}

TEST(PluginHost, RefusesAFileThatIsNotASharedObject) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/not-elf.so");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("cannot load plugin file " + kBad + "/not-elf.so"));
}

TEST(PluginHost, RefusesASharedObjectWithoutTheEntryPoint) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/no-entry.so");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            kBad + "/no-entry.so is not a keel plugin: it exports no keel_plugin_descriptor()");
}

TEST(PluginHost, RefusesAnotherAbiVersionNamingBoth) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/wrong-abi.so");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().is_failed_precondition());
  EXPECT_THAT(p.status().message(),
              AllOf(HasSubstr(kBad + "/wrong-abi.so"),
                    HasSubstr("ABI version " + std::to_string(kAbiVersion + 1)),
                    HasSubstr("this keel expects " + std::to_string(kAbiVersion))));
}

TEST(PluginHost, RefusesAnotherCompilerOrStandardLibrary) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/wrong-identity.so");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              AllOf(HasSubstr(kBad + "/wrong-identity.so"), HasSubstr("gcc 1; libstdc++ 1 cxx11abi=0"),
                    HasSubstr(KEEL_BUILD_IDENTITY), HasSubstr("same compiler and standard library")));
}

TEST(PluginHost, RefusesAnUnknownKind) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/wrong-kind.so");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              AllOf(HasSubstr(kBad + "/wrong-kind.so"), HasSubstr("unknown plugin kind 99")));
}

TEST(PluginHost, RefusesAKindWithoutItsFactory) {
  Result<LoadedPlugin> p = load_plugin_file(kBad + "/no-factory.so");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("declares kind backend but has no backend factory"));
}

TEST(PluginHost, RefusesAPluginOfAnotherKindChosenByPath) {
  PluginHost host({});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, kGood + "/good-transport.so");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), kGood + "/good-transport.so is a transport plugin (\"test-transport\"), "
                                          "but it was chosen as the backend");
}

TEST(PluginHost, ANameOfAnotherKindIsUnknownAndSaysSo) {
  PluginHost host({kGood});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "test-transport");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              AllOf(HasSubstr("no backend plugin named \"test-transport\""),
                    HasSubstr(kGood + "/good-transport.so is a transport plugin")));
}

TEST(PluginHost, RefusesTwoPluginsClaimingTheSameKindAndName) {
  PluginHost host({kGood, kDup});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "test-backend");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              AllOf(HasSubstr("two or more backend plugins are named \"test-backend\""),
                    HasSubstr(kGood + "/good-backend.so"), HasSubstr(kDup + "/dup-a.so"),
                    HasSubstr(kDup + "/dup-b.so")));
}

TEST(PluginHost, AnUnknownNameListsWhatWasFoundAndWhereItLooked) {
  PluginHost host({kGood, kBad, kRoot + "/missing-folder"});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kBackend, "rocksdb");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().is_not_found());
  const std::string& m = p.status().message();
  EXPECT_THAT(m, HasSubstr("no backend plugin named \"rocksdb\""));
  EXPECT_THAT(m, HasSubstr("backend plugins found: test-backend (" + kGood + "/good-backend.so)"));
  EXPECT_THAT(m, HasSubstr("looked in: " + kGood + ", " + kBad + ", " + kRoot + "/missing-folder (missing)"));
  // The refused files are listed with their reasons, so an operator sees why "rocksdb" is absent.
  EXPECT_THAT(m, HasSubstr("refused:"));
  EXPECT_THAT(m, HasSubstr(kBad + "/wrong-abi.so was built for keel plugin ABI version"));
  EXPECT_THAT(m, HasSubstr(kBad + "/no-entry.so is not a keel plugin"));
}

TEST(PluginHost, ScanSeesEveryFileInSearchOrderWithItsVerdict) {
  PluginHost host({kGood, kBad});
  const auto& found = host.scan();
  std::vector<std::string> paths;
  int loaded = 0;
  for (const auto& c : found) {
    paths.push_back(c.path);
    loaded += c.plugin.ok() ? 1 : 0;
  }
  EXPECT_THAT(paths, ::testing::ElementsAre(
                         kGood + "/good-authenticator.so", kGood + "/good-backend.so",
                         kGood + "/good-transport.so", kGood + "/good-watch-hub.so",
                         kBad + "/no-entry.so", kBad + "/no-factory.so", kBad + "/not-elf.so",
                         kBad + "/wrong-abi.so", kBad + "/wrong-identity.so", kBad + "/wrong-kind.so"));
  EXPECT_EQ(loaded, 4);
}

TEST(PluginHost, AnEmptyChoiceIsRefused) {
  PluginHost host({kGood});
  Result<LoadedPlugin> p = host.resolve(PluginKind::kWatchHub, "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "no watch_hub plugin is chosen");
}

}  // namespace
}  // namespace keel::plugin_host
