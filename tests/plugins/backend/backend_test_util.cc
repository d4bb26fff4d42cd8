#include "backend_test_util.h"

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "plugin_host/plugin_host.h"

namespace keel::testing {

namespace {

class StderrLogger : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    if (level >= LogLevel::kWarn) std::cerr << "[backend] " << message << "\n";
  }
};

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/keel-backend-test-XXXXXX";
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

Result<std::unique_ptr<BackendPlugin>> load_backend(
    const std::string& name, const std::map<std::string, std::string>& settings) {
  // One host for the run: plugins stay loaded, and the contexts they keep references to live on.
  static auto* host = new plugin_host::PluginHost({KEEL_PLUGIN_BUILD_DIR});
  static auto* logger = new StderrLogger();
  static auto* configs = new std::vector<std::unique_ptr<PluginConfig>>();
  auto plugin = host->resolve(PluginKind::kBackend, name);
  if (!plugin.ok()) return plugin.status();
  configs->push_back(std::make_unique<PluginConfig>("backend." + name, settings));
  PluginContext context{*configs->back(), *logger};
  return plugin_host::create_backend(*plugin, context);
}

Result<size_t> StringSource::read(char* buf, size_t n) {
  size_t k = std::min({n, chunk_, data_.size() - pos_});
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<Content> read_all(Backend& backend) {
  auto tx = backend.begin_read();
  if (!tx.ok()) return tx.status();
  auto names = (*tx)->buckets();
  if (!names.ok()) return names.status();
  Content content;
  for (const auto& name : *names) {
    auto& bucket = content[name];
    auto c = (*tx)->cursor(name);
    if (!c.ok()) return c.status();
    for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
      bucket.emplace(std::string((*c)->key()), std::string((*c)->value()));
    }
    if (!(*c)->status().ok()) return (*c)->status();
  }
  return content;
}

uint64_t file_tree_size(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

}  // namespace keel::testing
