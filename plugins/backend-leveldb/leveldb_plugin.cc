// The leveldb backend plugin: settings of [backend.leveldb] and the factory keel's plugin host
// calls.
//
// Settings:
//   cache_size         LevelDB's block cache per store (default 64MiB)
//   block_size         table block size (default 4KiB)
//   write_buffer_size  memtable size before it is written out as a table (default 64MiB)
//   compression        snappy (default) or none
#include <memory>

#include "keel/plugin.h"
#include "leveldb_copy.h"
#include "leveldb_store.h"

namespace keel::backend_leveldb {

namespace {

class LeveldbPlugin : public BackendPlugin {
 public:
  LeveldbPlugin(LeveldbSettings settings, Logger& logger) : settings_(settings), logger_(logger) {}

  Result<std::unique_ptr<Backend>> open(const BackendOptions& options) override {
    return LeveldbStore::open(options, settings_, logger_);
  }

  Status restore(const BackendOptions& options, ByteSource& copy) override {
    return restore_leveldb(options, copy, settings_, logger_);
  }

 private:
  const LeveldbSettings settings_;
  Logger& logger_;
};

Status get_size_in(const PluginConfig& config, const char* key, uint64_t min, uint64_t max,
                   uint64_t* value) {
  auto v = config.get_size(key, *value);
  if (!v.ok()) return v.status();
  if (*v < min || *v > max) {
    return Status::InvalidArgument("bad value for " + config.section() + "." + key +
                                   ": expected a size from " + std::to_string(min) + " to " +
                                   std::to_string(max) + " bytes");
  }
  *value = *v;
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<BackendPlugin>> create_leveldb_plugin(const PluginContext& context) {
  try {
    const PluginConfig& config = context.config;
    KEEL_RETURN_IF_ERROR(config.check_known_keys(
        {"cache_size", "block_size", "write_buffer_size", "compression"}));
    LeveldbSettings s;
    KEEL_RETURN_IF_ERROR(get_size_in(config, "cache_size", 0, uint64_t{1} << 40, &s.cache_size));
    KEEL_RETURN_IF_ERROR(get_size_in(config, "block_size", 1024, 64 << 20, &s.block_size));
    KEEL_RETURN_IF_ERROR(
        get_size_in(config, "write_buffer_size", 64 << 10, uint64_t{1} << 32, &s.write_buffer_size));
    auto compression = config.get_string("compression", "snappy");
    if (!compression.ok()) return compression.status();
    if (*compression != "snappy" && *compression != "none") {
      return Status::InvalidArgument("bad value \"" + *compression + "\" for " + config.section() +
                                     ".compression: expected snappy or none");
    }
    s.compression = *compression == "snappy";
    return std::unique_ptr<BackendPlugin>(new LeveldbPlugin(s, context.logger));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("leveldb: create plugin: ") + e.what());
  }
}

}  // namespace keel::backend_leveldb

KEEL_BACKEND_PLUGIN("leveldb", "0.1.0", keel::backend_leveldb::create_leveldb_plugin)
