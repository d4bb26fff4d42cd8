// Applies numbered entries (mvcc_crash_ops.h) to a KvStore on a real backend until killed, from
// the entry after the store's consistent index. Usage: mvcc_crash_child <backend> <dir> <batch>
#include <cstdio>
#include <string>

#include "keel/plugin.h"
#include "mvcc/kv_store.h"
#include "mvcc_crash_ops.h"
#include "plugin_host/plugin_host.h"

namespace {

class NullLogger : public keel::Logger {
 public:
  void log(keel::LogLevel, std::string_view) override {}
};

int fail(const keel::Status& s) {
  std::fprintf(stderr, "mvcc_crash_child: %s\n", s.to_string().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace keel;
  if (argc != 4) return 2;
  NullLogger logger;
  plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
  Result<plugin_host::LoadedPlugin> plugin = host.resolve(PluginKind::kBackend, argv[1]);
  if (!plugin.ok()) return fail(plugin.status());
  PluginConfig settings(std::string("backend.") + argv[1]);
  auto engine = plugin_host::create_backend(*plugin, PluginContext{settings, logger});
  if (!engine.ok()) return fail(engine.status());
  auto backend = (*engine)->open(BackendOptions{argv[2], true});
  if (!backend.ok()) return fail(backend.status());
  mvcc::StoreOptions options;
  options.batch_limit = std::stoul(argv[3]);
  options.batch_interval = std::chrono::milliseconds(0);
  auto store = mvcc::KvStore::open(**backend, options);
  if (!store.ok()) return fail(store.status());
  // The parent's random kill counts from here: a loaded machine's slow start is not the test.
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (uint64_t index = (*store)->consistent_index() + 1;; ++index) {
    mvcc::testing::CrashOp op = mvcc::testing::crash_op(index);
    if (op.put) {
      mvcc::PutRequest put;
      put.key = op.key;
      put.value = op.value;
      auto r = (*store)->put(put, index);
      if (!r.ok()) return fail(r.status());
    } else {
      mvcc::DeleteRangeRequest del;
      del.key = op.key;
      auto r = (*store)->delete_range(del, index);
      if (!r.ok()) return fail(r.status());
    }
  }
}
