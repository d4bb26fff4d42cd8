// An authenticator plugin for the host's and keeld's tests: it loads; it issues no token.
#include "keel/plugin.h"

namespace {

class TestAuthenticatorPlugin : public keel::AuthenticatorPlugin {
 public:
  keel::Result<std::unique_ptr<keel::Authenticator>> create(const keel::AuthenticatorOptions&) override {
    return keel::Status::NotSupported("the host's test authenticator issues no token");
  }
};

keel::Result<std::unique_ptr<keel::AuthenticatorPlugin>> create(const keel::PluginContext&) {
  return std::unique_ptr<keel::AuthenticatorPlugin>(new TestAuthenticatorPlugin);
}

}  // namespace

KEEL_AUTHENTICATOR_PLUGIN("test-authenticator", "0.0.1", create)
