// A transport plugin for the host's tests: it loads; it starts nothing.
#include "keel/plugin.h"

namespace {

class TestTransportPlugin : public keel::TransportPlugin {
 public:
  keel::Result<std::unique_ptr<keel::Transport>> start(const keel::TransportOptions&) override {
    return keel::Status::NotSupported("the host's test transport starts nothing");
  }
};

keel::Result<std::unique_ptr<keel::TransportPlugin>> create(const keel::PluginContext&) {
  return std::unique_ptr<keel::TransportPlugin>(new TestTransportPlugin);
}

}  // namespace

KEEL_TRANSPORT_PLUGIN("test-transport", "0.0.1", create)
