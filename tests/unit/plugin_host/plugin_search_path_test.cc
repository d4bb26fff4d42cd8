// The search order: the config's plugin_dir, then $KEEL_PLUGIN_PATH, then the install folder.
#include "plugin_host/plugin_search_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace keel::plugin_host {
namespace {

using ::testing::ElementsAre;

TEST(PluginSearchPath, ConfigThenEnvironmentThenInstall) {
  EXPECT_THAT(plugin_search_path("/cfg", "/env1:/env2", "/install"),
              ElementsAre("/cfg", "/env1", "/env2", "/install"));
}

TEST(PluginSearchPath, SkipsEmptyEntriesAndRepeats) {
  EXPECT_THAT(plugin_search_path("", ":/env1::/env1:/install:", "/install"),
              ElementsAre("/env1", "/install"));
}

TEST(PluginSearchPath, OneFolderSpelledTwoWaysIsOneFolder) {
  EXPECT_THAT(plugin_search_path("/opt/keel/plugins/", "/opt/keel/./plugins:/opt/keel/x/../plugins/.", "/opt/keel/plugins"),
              ElementsAre("/opt/keel/plugins"));
}

TEST(PluginSearchPath, InstallFolderIsBesideTheExecutable) {
  // Test binaries live in <build>/bin like keeld, so the install folder is <build>/lib/keel/plugins.
  std::string dir = installed_plugin_dir();
  EXPECT_THAT(dir, ::testing::EndsWith("/lib/keel/plugins"));
  EXPECT_THAT(default_plugin_search_path("/cfg").front(), "/cfg");
  EXPECT_EQ(default_plugin_search_path("").back(), dir);
}

}  // namespace
}  // namespace keel::plugin_host
