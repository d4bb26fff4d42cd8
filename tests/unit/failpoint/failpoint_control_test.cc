// How keeld takes failpoints from its environment: KEEL_FAILPOINTS at start, the file named by
// KEEL_FAILPOINTS_FILE at start and whenever it changes (its failpoints over KEEL_FAILPOINTS's);
// a bad term at start is an error, a bad file later changes nothing.
#include "failpoint/failpoint_control.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "failpoint/failpoint.h"

namespace keel::failpoint {
namespace {

class Lines : public Logger {
 public:
  void log(LogLevel, std::string_view m) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += std::string(m) + "\n";
  }
  std::string text() {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  std::mutex mu_;
  std::string text_;
};

class FailpointControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(set_all("").ok());
    dir_ = std::filesystem::temp_directory_path() / ("keel-failpoints-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "failpoints").string();
  }
  void TearDown() override {
    ::unsetenv("KEEL_FAILPOINTS");
    ::unsetenv("KEEL_FAILPOINTS_FILE");
    ASSERT_TRUE(set_all("").ok());
    std::filesystem::remove_all(dir_);
  }

  // Writes the file whole and renames it into place, as a harness does.
  void write(const std::string& text) {
    const std::string tmp = file_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, file_);
  }

  // Waits (bounded) until the failpoints on are `want`.
  static bool becomes(const std::vector<std::string>& want) {
    for (int i = 0; i < 600; ++i) {
      if (list() == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  std::filesystem::path dir_;
  std::string file_;
  Lines logger_;
};

TEST_F(FailpointControlTest, NothingInTheEnvironmentSwitchesNothingOnAndStartsNoWatcher) {
  auto control = FailpointControl::from_environment(&logger_);
  ASSERT_TRUE(control.ok()) << control.status().to_string();
  EXPECT_EQ(control->get(), nullptr);
  EXPECT_TRUE(list().empty());
}

TEST_F(FailpointControlTest, TheVariableSwitchesOnAtStartAndABadOneIsRefused) {
  ::setenv("KEEL_FAILPOINTS", "raftBeforeSave=sleep(10);peerSend/2=drop", 1);
  auto control = FailpointControl::from_environment(&logger_);
  ASSERT_TRUE(control.ok()) << control.status().to_string();
  EXPECT_EQ(list(), (std::vector<std::string>{"peerSend/0000000000000002=drop", "raftBeforeSave=sleep(10)"}));

  ASSERT_TRUE(set_all("").ok());
  ::setenv("KEEL_FAILPOINTS", "raftBeforeSave=sleep(10);raftAfterSave=explode", 1);
  auto refused = FailpointControl::from_environment(&logger_);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().is_invalid_argument());
  EXPECT_NE(refused.status().message().find("KEEL_FAILPOINTS"), std::string::npos) << refused.status().to_string();
  EXPECT_TRUE(list().empty()) << "a refused variable switched something on";
}

TEST_F(FailpointControlTest, TheFileIsReadAtStartAndWheneverItChanges) {
  ::setenv("KEEL_FAILPOINTS", "raftBeforeSave=sleep(10)", 1);
  ::setenv("KEEL_FAILPOINTS_FILE", file_.c_str(), 1);
  write("peerRecv/3=drop\n");
  auto control = FailpointControl::from_environment(&logger_);
  ASSERT_TRUE(control.ok()) << control.status().to_string();
  EXPECT_EQ(list(), (std::vector<std::string>{"peerRecv/0000000000000003=drop", "raftBeforeSave=sleep(10)"}));

  // A change replaces the file's failpoints; the variable's stay unless the file says otherwise.
  write("peerSend/3=50%drop\nraftBeforeSave=off\n");
  EXPECT_TRUE(becomes({"peerSend/0000000000000003=50%drop"})) << logger_.text();

  // A file that does not parse is logged and changes nothing.
  write("peerSend/3=sometimes\n");
  for (int i = 0; i < 600 && logger_.text().find("failpoints not changed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(logger_.text().find("failpoints not changed"), std::string::npos) << logger_.text();
  EXPECT_EQ(list(), std::vector<std::string>{"peerSend/0000000000000003=50%drop"});

  // No file: the variable's failpoints alone.
  std::filesystem::remove(file_);
  EXPECT_TRUE(becomes({"raftBeforeSave=sleep(10)"})) << logger_.text();
  control->reset();  // the watcher stops; the failpoints stay
  EXPECT_EQ(list(), std::vector<std::string>{"raftBeforeSave=sleep(10)"});
}

TEST_F(FailpointControlTest, ABadFileAtStartIsRefused) {
  ::setenv("KEEL_FAILPOINTS_FILE", file_.c_str(), 1);
  write("raftBeforeSave=sleep(10)\nbogus=panic\n");
  auto refused = FailpointControl::from_environment(&logger_);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("KEEL_FAILPOINTS_FILE"), std::string::npos) << refused.status().to_string();
  EXPECT_NE(refused.status().message().find("no failpoint is named bogus"), std::string::npos);
}

TEST_F(FailpointControlTest, AFileNotThereYetMeansNoneOfItsFailpoints) {
  ::setenv("KEEL_FAILPOINTS_FILE", file_.c_str(), 1);
  auto control = FailpointControl::from_environment(&logger_);
  ASSERT_TRUE(control.ok()) << control.status().to_string();
  EXPECT_TRUE(list().empty());
  write("afterCommit=panic\n");
  EXPECT_TRUE(becomes({"afterCommit=panic"})) << logger_.text();
}

}  // namespace
}  // namespace keel::failpoint
