// Helpers of the MVCC and lease tests: a backend plugin loaded through the plugin host as keeld
// loads it, a temporary data dir, a fixture parameterized over the backend plugins (skipping one
// whose .so is not built), and a Clock tests drive by hand.
#ifndef KEEL_TESTS_UNIT_MVCC_MVCC_TEST_UTIL_H_
#define KEEL_TESTS_UNIT_MVCC_MVCC_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "keel/backend.h"
#include "keel/clock.h"
#include "keel/watch_hub.h"
#include "mvcc/kv_store.h"

namespace keel::mvcc::testing {

#define ASSERT_OK(expr)                                \
  do {                                                 \
    auto&& keel_s_ = (expr);                           \
    ASSERT_TRUE(keel_s_.ok()) << keel_s_.to_string();  \
  } while (0)
#define ASSERT_OK_R(expr)                                      \
  do {                                                         \
    auto&& keel_r_ = (expr);                                   \
    ASSERT_TRUE(keel_r_.ok()) << keel_r_.status().to_string(); \
  } while (0)

// The backend plugins the suites run over.
std::vector<std::string> backend_names();
// Whether keel-backend-<name>.so is built.
bool backend_built(const std::string& name);
// Loads the backend plugin `name` (plugins stay loaded for the whole run).
Result<std::unique_ptr<BackendPlugin>> load_backend(const std::string& name);
// Loads the watch hub plugin `name` ("default" is keel's).
Result<std::unique_ptr<WatchHubPlugin>> load_watch_hub(const std::string& name);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class FakeClock : public Clock {
 public:
  TimePoint now() override { return TimePoint(std::chrono::nanoseconds(ns_.load())); }
  void advance(std::chrono::nanoseconds d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{1'000'000'000'000};
};

// A store on a real backend in a temp dir, reopenable. Parameter: the backend plugin's name.
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Closes the store and the backend and opens both again on the same dir.
  void reopen(const StoreOptions& options);
  void reopen() { reopen(options_); }
  void close_all();
  void open_all();

  KvStore& store() { return *store_; }

  StoreOptions options_;
  TempDir dir_;
  std::unique_ptr<BackendPlugin> plugin_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<KvStore> store_;
};

std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info);

}  // namespace keel::mvcc::testing

#endif  // KEEL_TESTS_UNIT_MVCC_MVCC_TEST_UTIL_H_
