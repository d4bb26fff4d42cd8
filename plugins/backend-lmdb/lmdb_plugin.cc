// The lmdb backend plugin: settings of [backend.lmdb] and the factory keel's plugin host calls.
//
// Settings:
//   map_size     initial size of LMDB's memory map (default 1GiB); it doubles by itself when full
//   max_dbs      most buckets a store may hold (default 64)
//   max_readers  most read transactions open at once (default 256)
#include <memory>

#include "keel/plugin.h"
#include "lmdb_copy.h"
#include "lmdb_store.h"

namespace keel::backend_lmdb {

namespace {

class LmdbPlugin : public BackendPlugin {
 public:
  LmdbPlugin(LmdbSettings settings, Logger& logger) : settings_(settings), logger_(logger) {}

  Result<std::unique_ptr<Backend>> open(const BackendOptions& options) override {
    return LmdbStore::open(options, settings_, logger_);
  }

  Status restore(const BackendOptions& options, ByteSource& copy) override {
    return restore_lmdb(options, copy, settings_, logger_);
  }

 private:
  const LmdbSettings settings_;
  Logger& logger_;
};

Result<unsigned> get_count(const PluginConfig& config, const char* key, unsigned fallback) {
  auto n = config.get_size(key, fallback);
  if (!n.ok()) return n.status();
  if (*n == 0 || *n > 1'000'000) {
    return Status::InvalidArgument("bad value for " + config.section() + "." + key +
                                   ": expected a count from 1 to 1000000");
  }
  return static_cast<unsigned>(*n);
}

}  // namespace

Result<std::unique_ptr<BackendPlugin>> create_lmdb_plugin(const PluginContext& context) {
  try {
    const PluginConfig& config = context.config;
    KEEL_RETURN_IF_ERROR(config.check_known_keys({"map_size", "max_dbs", "max_readers"}));
    LmdbSettings settings;
    auto map_size = config.get_size("map_size", settings.map_size);
    if (!map_size.ok()) return map_size.status();
    if (*map_size < (uint64_t{1} << 20)) {
      return Status::InvalidArgument("bad value for " + config.section() +
                                     ".map_size: expected at least 1MiB");
    }
    settings.map_size = *map_size;
    auto max_dbs = get_count(config, "max_dbs", settings.max_dbs);
    if (!max_dbs.ok()) return max_dbs.status();
    settings.max_dbs = *max_dbs;
    auto max_readers = get_count(config, "max_readers", settings.max_readers);
    if (!max_readers.ok()) return max_readers.status();
    settings.max_readers = *max_readers;
    return std::unique_ptr<BackendPlugin>(new LmdbPlugin(settings, context.logger));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("lmdb: create plugin: ") + e.what());
  }
}

}  // namespace keel::backend_lmdb

KEEL_BACKEND_PLUGIN("lmdb", "0.1.0", keel::backend_lmdb::create_lmdb_plugin)
