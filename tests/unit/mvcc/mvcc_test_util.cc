#include "mvcc_test_util.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "plugin_host/plugin_host.h"

namespace keel::mvcc::testing {
namespace {

class StderrLogger : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    if (level >= LogLevel::kWarn) std::cerr << "[backend] " << message << "\n";
  }
};

}  // namespace

std::vector<std::string> backend_names() { return {"lmdb", "leveldb"}; }

bool backend_built(const std::string& name) {
  return std::filesystem::exists(std::string(KEEL_PLUGIN_BUILD_DIR) + "/keel-backend-" + name + ".so");
}

namespace {

// The plugin of `kind` named `name` from the build's plugin folder, made by `create` with an
// empty configuration (plugins stay loaded for the whole run).
template <typename P>
Result<std::unique_ptr<P>> load_plugin(PluginKind kind, const std::string& name,
                                       Result<std::unique_ptr<P>> (*create)(const plugin_host::LoadedPlugin&,
                                                                            const PluginContext&)) {
  static auto* host = new plugin_host::PluginHost({KEEL_PLUGIN_BUILD_DIR});
  static auto* logger = new StderrLogger();
  static auto* configs = new std::vector<std::unique_ptr<PluginConfig>>();
  auto plugin = host->resolve(kind, name);
  if (!plugin.ok()) return plugin.status();
  configs->push_back(std::make_unique<PluginConfig>(std::string(plugin_kind_name(kind)) + "." + name));
  PluginContext context{*configs->back(), *logger};
  return create(*plugin, context);
}

}  // namespace

Result<std::unique_ptr<BackendPlugin>> load_backend(const std::string& name) {
  return load_plugin(PluginKind::kBackend, name, &plugin_host::create_backend);
}

Result<std::unique_ptr<WatchHubPlugin>> load_watch_hub(const std::string& name) {
  return load_plugin(PluginKind::kWatchHub, name, &plugin_host::create_watch_hub);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/keel-mvcc-test-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  if (p == nullptr) {
    std::cerr << "mkdtemp: " << std::strerror(errno) << "\n";
    std::abort();
  }
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void StoreTest::SetUp() {
  if (!backend_built(GetParam())) {
    GTEST_SKIP() << "backend plugin " << GetParam() << " is not built in " << KEEL_PLUGIN_BUILD_DIR;
  }
  auto p = load_backend(GetParam());
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  plugin_ = std::move(*p);
  options_.batch_interval = std::chrono::milliseconds(0);  // commits by count or force_commit
  open_all();
}

void StoreTest::TearDown() {
  if (store_) {
    Status s = store_->check_invariants();
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  close_all();
}

void StoreTest::open_all() {
  BackendOptions o;
  o.dir = dir_.path() + "/store";
  auto b = plugin_->open(o);
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  backend_ = std::move(*b);
  auto s = KvStore::open(*backend_, options_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  store_ = std::move(*s);
}

void StoreTest::close_all() {
  if (store_) {
    Status s = store_->close();
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  store_.reset();
  backend_.reset();
}

void StoreTest::reopen(const StoreOptions& options) {
  close_all();
  options_ = options;
  open_all();
}

std::string backend_param_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace keel::mvcc::testing
