// auth-simple: etcd's simple token provider. A token is 16 random letters (chosen by the member
// that took the Authenticate request), a dot and the Raft index of the Authenticate entry; every
// member keeps the tokens it assigned in memory. A token
// lives for the TTL after its last use (each successful verify renews it), as etcd's do; tokens
// do not survive a restart, so clients authenticate again, as with etcd.
//
// Thread safety: every method takes one mutex.
#include <map>
#include <mutex>
#include <random>

#include "keel/plugin.h"

namespace keel::auth {
namespace {

const char* kInvalidToken = "etcdserver: invalid auth token";

class SteadyClock : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
};

class SimpleAuthenticator : public Authenticator {
 public:
  SimpleAuthenticator(std::chrono::seconds ttl, Clock* clock) : ttl_(ttl), clock_(clock != nullptr ? clock : &steady_) {}

  std::string gen_token_prefix() override {
    std::lock_guard<std::mutex> lock(mu_);
    return random_letters();
  }

  // The token is the proposer's prefix and the entry's index, etcd's "<prefix>.<index>": every
  // member that applies the entry knows the same token.
  Result<std::string> assign(const AuthIdentity& identity, const AssignContext& context) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!enabled_) return Status::FailedPrecondition("etcdserver: authentication is not enabled");
    if (identity.user.empty()) return Status::InvalidArgument("etcdserver: user name is empty");
    if (context.token_prefix.empty()) return Status::InvalidArgument("a simple token needs a token prefix");
    expire_locked();
    std::string token = context.token_prefix + "." + std::to_string(context.index);
    tokens_[token] = Entry{identity, clock_->now() + ttl_};
    return token;
  }

  Result<AuthIdentity> verify(std::string_view token) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = tokens_.find(std::string(token));
    if (!enabled_ || it == tokens_.end()) return Status::Unauthenticated(kInvalidToken);
    const Clock::TimePoint now = clock_->now();
    if (now >= it->second.expires) {
      tokens_.erase(it);
      return Status::Unauthenticated(kInvalidToken);
    }
    it->second.expires = now + ttl_;  // a token in use stays alive
    return it->second.identity;
  }

  void enable() override {
    std::lock_guard<std::mutex> lock(mu_);
    enabled_ = true;
  }

  void disable() override {
    std::lock_guard<std::mutex> lock(mu_);
    enabled_ = false;
    tokens_.clear();
  }

  void revoke_user(std::string_view user) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = it->second.identity.user == user ? tokens_.erase(it) : std::next(it);
    }
  }

 private:
  struct Entry {
    AuthIdentity identity;
    Clock::TimePoint expires;
  };

  // Forgets expired tokens, so memory follows the tokens in use, not all ever issued.
  void expire_locked() {
    const Clock::TimePoint now = clock_->now();
    for (auto it = tokens_.begin(); it != tokens_.end();) {
      it = now >= it->second.expires ? tokens_.erase(it) : std::next(it);
    }
  }

  std::string random_letters() {
    static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::uniform_int_distribution<size_t> pick(0, sizeof(kLetters) - 2);
    std::string s(16, ' ');
    for (char& c : s) c = kLetters[pick(random_)];
    return s;
  }

  const std::chrono::seconds ttl_;
  SteadyClock steady_;
  Clock* clock_;
  std::mutex mu_;
  std::random_device random_;  // the kernel's randomness: tokens must not be guessable
  bool enabled_ = false;  // until the member says auth is on
  std::map<std::string, Entry> tokens_;
};

class SimpleAuthenticatorPlugin : public AuthenticatorPlugin {
 public:
  Result<std::unique_ptr<Authenticator>> create(const AuthenticatorOptions& options) override {
    if (options.token_ttl.count() <= 0) return Status::InvalidArgument("the token TTL must be positive");
    return std::unique_ptr<Authenticator>(new SimpleAuthenticator(options.token_ttl, options.clock));
  }
};

Result<std::unique_ptr<AuthenticatorPlugin>> create_plugin(const PluginContext& context) {
  // etcd's --auth-token simple takes no options.
  KEEL_RETURN_IF_ERROR(context.config.check_known_keys({}));
  return std::unique_ptr<AuthenticatorPlugin>(new SimpleAuthenticatorPlugin);
}

}  // namespace
}  // namespace keel::auth

KEEL_AUTHENTICATOR_PLUGIN("simple", "0.1.0", keel::auth::create_plugin)
