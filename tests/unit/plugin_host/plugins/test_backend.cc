// A backend plugin for the host's tests: it loads, and its factory checks its settings; it opens
// no store.
#include "keel/plugin.h"

namespace {

class TestBackendPlugin : public keel::BackendPlugin {
 public:
  keel::Result<std::unique_ptr<keel::Backend>> open(const keel::BackendOptions&) override {
    return keel::Status::NotSupported("the host's test backend opens no store");
  }
  keel::Status restore(const keel::BackendOptions&, keel::ByteSource&) override {
    return keel::Status::NotSupported("the host's test backend restores nothing");
  }
};

keel::Result<std::unique_ptr<keel::BackendPlugin>> create(const keel::PluginContext& context) {
  KEEL_RETURN_IF_ERROR(context.config.check_known_keys({"knob"}));
  keel::Result<uint64_t> knob = context.config.get_size("knob", 1);
  if (!knob.ok()) return knob.status();
  context.logger.info("test backend made");
  return std::unique_ptr<keel::BackendPlugin>(new TestBackendPlugin);
}

}  // namespace

KEEL_BACKEND_PLUGIN("test-backend", "1.2.3", create)
