// The watchhub-default plugin's entry point.
#include "default_watch_hub.h"
#include "keel/plugin.h"

namespace keel::watchhub {
namespace {

class DefaultWatchHubPlugin : public WatchHubPlugin {
 public:
  Result<std::unique_ptr<WatchHub>> create(const WatchHubOptions& options) override {
    if (options.history == nullptr) return Status::InvalidArgument("the watch hub needs the store's history");
    if (options.max_events_per_response == 0 || options.max_response_bytes == 0 ||
        options.progress_interval.count() <= 0) {
      return Status::InvalidArgument("the watch hub needs non-zero response limits and progress interval");
    }
    return std::unique_ptr<WatchHub>(new DefaultWatchHub(options));
  }
};

Result<std::unique_ptr<WatchHubPlugin>> create_plugin(const PluginContext& context) {
  KEEL_RETURN_IF_ERROR(context.config.check_known_keys({}));
  return std::unique_ptr<WatchHubPlugin>(new DefaultWatchHubPlugin);
}

}  // namespace
}  // namespace keel::watchhub

KEEL_WATCH_HUB_PLUGIN("default", "0.1.0", keel::watchhub::create_plugin)
