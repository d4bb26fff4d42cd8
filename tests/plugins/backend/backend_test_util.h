// Helpers of the backend conformance suite: loading a backend plugin through the plugin host,
// temporary data dirs, in-memory byte streams and a model comparison.
#ifndef KEEL_TESTS_PLUGINS_BACKEND_BACKEND_TEST_UTIL_H_
#define KEEL_TESTS_PLUGINS_BACKEND_BACKEND_TEST_UTIL_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "keel/backend.h"
#include "keel/plugin.h"

namespace keel::testing {

// A fresh directory under /tmp, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // A path inside this directory (not created).
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Loads the backend plugin `name` from the build's plugin folder with the given settings.
// Plugins are never unloaded, so the loaded library lives for the whole test run.
Result<std::unique_ptr<BackendPlugin>> load_backend(
    const std::string& name, const std::map<std::string, std::string>& settings = {});

class StringSink : public ByteSink {
 public:
  Status write(std::string_view data) override {
    data_.append(data);
    return Status::OK();
  }
  std::string& data() { return data_; }

 private:
  std::string data_;
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk = 1 << 16)
      : data_(std::move(data)), chunk_(chunk) {}
  Result<size_t> read(char* buf, size_t n) override;

 private:
  std::string data_;
  size_t chunk_;
  size_t pos_ = 0;
};

// bucket -> key -> value: the whole content of a store, read through one read transaction.
using Content = std::map<std::string, std::map<std::string, std::string>>;
Result<Content> read_all(Backend& backend);

uint64_t file_tree_size(const std::string& dir);

}  // namespace keel::testing

#endif  // KEEL_TESTS_PLUGINS_BACKEND_BACKEND_TEST_UTIL_H_
