// A watch hub plugin for the host's and keeld's tests: it loads; it makes no hub.
#include "keel/plugin.h"

namespace {

class TestWatchHubPlugin : public keel::WatchHubPlugin {
 public:
  keel::Result<std::unique_ptr<keel::WatchHub>> create(const keel::WatchHubOptions&) override {
    return keel::Status::NotSupported("the host's test watch hub makes no hub");
  }
};

keel::Result<std::unique_ptr<keel::WatchHubPlugin>> create(const keel::PluginContext&) {
  return std::unique_ptr<keel::WatchHubPlugin>(new TestWatchHubPlugin);
}

}  // namespace

KEEL_WATCH_HUB_PLUGIN("test-watch-hub", "0.0.1", create)
