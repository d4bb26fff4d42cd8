// The Authenticator contract (keel/authenticator.h), checked for every authenticator plugin,
// loaded through the plugin host as keeld loads it. Time is a clock the test moves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"

namespace keel::testing {
namespace {

using namespace std::chrono_literals;

class NullLogger : public Logger {
 public:
  void log(LogLevel, std::string_view) override {}
};

class ManualClock : public Clock {
 public:
  TimePoint now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void advance(std::chrono::seconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  std::mutex mu_;
  TimePoint now_{};
};

constexpr const char* kInvalid = "etcdserver: invalid auth token";

class AuthenticatorConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
    Result<plugin_host::LoadedPlugin> p = host.resolve(PluginKind::kAuthenticator, GetParam());
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    PluginConfig settings("authenticator." + GetParam());
    auto engine = plugin_host::create_authenticator(*p, PluginContext{settings, logger_});
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    AuthenticatorOptions options;
    options.token_ttl = 300s;
    options.clock = &clock_;
    auto made = (*engine)->create(options);
    ASSERT_TRUE(made.ok()) << made.status().to_string();
    auth_ = std::move(made).value();
    engine_ = std::move(engine).value();
    auth_->enable();
  }

  // Issues a token as the member does: a prefix from the authenticator, the entry's index.
  Result<std::string> issue(const AuthIdentity& who) {
    return auth_->assign(who, AssignContext{auth_->gen_token_prefix(), ++index_});
  }

  void expect_invalid(std::string_view token) {
    Result<AuthIdentity> who = auth_->verify(token);
    ASSERT_FALSE(who.ok()) << token;
    EXPECT_EQ(who.status().code(), Status::Code::kUnauthenticated);
    EXPECT_EQ(who.status().message(), kInvalid);
  }

  NullLogger logger_;
  ManualClock clock_;
  std::unique_ptr<AuthenticatorPlugin> engine_;
  std::unique_ptr<Authenticator> auth_;
  uint64_t index_ = 0;
};

TEST_P(AuthenticatorConformance, ATokenStandsForItsUser) {
  Result<std::string> root = issue(AuthIdentity{"root", 7});
  Result<std::string> alice = issue(AuthIdentity{"alice", 9});
  ASSERT_TRUE(root.ok() && alice.ok());
  EXPECT_NE(*root, *alice);
  EXPECT_EQ(*auth_->verify(*root), (AuthIdentity{"root", 7}));
  EXPECT_EQ(*auth_->verify(*alice), (AuthIdentity{"alice", 9}));
  // Two logins of one user get two tokens.
  EXPECT_NE(*issue(AuthIdentity{"root", 7}), *root);
}

TEST_P(AuthenticatorConformance, ForgedAndMalformedTokensAreRefused) {
  std::string token = *issue(AuthIdentity{"root", 1});
  for (std::string bad : {std::string(), std::string("x"), std::string(token.size(), 'a'), token + "x",
                          token.substr(0, token.size() - 1), std::string("\0\xff", 2)}) {
    expect_invalid(bad);
  }
  std::string flipped = token;
  flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
  expect_invalid(flipped);
}

TEST_P(AuthenticatorConformance, ATokenExpiresAfterItsTtl) {
  std::string token = *issue(AuthIdentity{"root", 1});
  clock_.advance(299s);
  EXPECT_TRUE(auth_->verify(token).ok());
  clock_.advance(301s);
  expect_invalid(token);
}

TEST_P(AuthenticatorConformance, DisableForgetsEveryTokenAndRevokeAUsers) {
  std::string root = *issue(AuthIdentity{"root", 1});
  std::string alice = *issue(AuthIdentity{"alice", 1});
  auth_->revoke_user("alice");
  expect_invalid(alice);
  EXPECT_TRUE(auth_->verify(root).ok());
  auth_->disable();
  expect_invalid(root);
  EXPECT_FALSE(issue(AuthIdentity{"root", 1}).ok());
  auth_->enable();
  expect_invalid(root);  // what disable forgot stays forgotten
  EXPECT_TRUE(auth_->verify(*issue(AuthIdentity{"root", 2})).ok());
}

TEST_P(AuthenticatorConformance, ANewAuthenticatorIsDisabled) {
  AuthenticatorOptions options;
  options.clock = &clock_;
  auto fresh = std::move(engine_->create(options)).value();
  EXPECT_FALSE(fresh->assign(AuthIdentity{"root", 1}, AssignContext{fresh->gen_token_prefix(), 1}).ok());
}

TEST_P(AuthenticatorConformance, ManyThreadsAtOnce) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        AuthIdentity who{"user" + std::to_string(t), static_cast<uint64_t>(i)};
        Result<std::string> token = auth_->assign(who, AssignContext{auth_->gen_token_prefix(), uint64_t(t * 1000 + i + 1)});
        if (!token.ok() || !(auth_->verify(*token).ok() && *auth_->verify(*token) == who)) ++failures;
        if (i % 50 == 0) auth_->revoke_user("user" + std::to_string((t + 1) % 8));
      }
    });
  }
  for (auto& t : threads) t.join();
  // A token may be revoked by another thread between assign and verify; every other check holds.
  EXPECT_LT(failures.load(), 8 * 5);
}

TEST_P(AuthenticatorConformance, EveryMemberAssignsTheSameTokenForTheSameEntry) {
  AuthenticatorOptions options;
  options.clock = &clock_;
  auto other_member = std::move(engine_->create(options)).value();
  other_member->enable();
  AssignContext replicated{auth_->gen_token_prefix(), 77};
  Result<std::string> here = auth_->assign(AuthIdentity{"root", 3}, replicated);
  Result<std::string> there = other_member->assign(AuthIdentity{"root", 3}, replicated);
  ASSERT_TRUE(here.ok() && there.ok());
  EXPECT_EQ(*here, *there);
  EXPECT_EQ(*other_member->verify(*here), (AuthIdentity{"root", 3}));
}

TEST_P(AuthenticatorConformance, BadOptionsAreRefused) {
  AuthenticatorOptions zero;
  zero.token_ttl = 0s;
  EXPECT_TRUE(engine_->create(zero).status().is_invalid_argument());
}

INSTANTIATE_TEST_SUITE_P(Plugins, AuthenticatorConformance, ::testing::Values("simple"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

// simple tokens in particular: etcd renews a token each time it is used.
TEST(SimpleTokens, UseKeepsATokenAlive) {
  plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
  NullLogger logger;
  PluginConfig settings("authenticator.simple");
  auto engine = std::move(plugin_host::create_authenticator(
                              *host.resolve(PluginKind::kAuthenticator, "simple"), PluginContext{settings, logger}))
                    .value();
  ManualClock clock;
  AuthenticatorOptions options;
  options.token_ttl = 10s;
  options.clock = &clock;
  auto auth = std::move(engine->create(options)).value();
  auth->enable();
  std::string token = *auth->assign(AuthIdentity{"root", 1}, AssignContext{auth->gen_token_prefix(), 42});
  for (int i = 0; i < 10; ++i) {
    clock.advance(9s);
    ASSERT_TRUE(auth->verify(token).ok()) << i;
  }
  // Tokens look like etcd's: 16 letters, a dot, the entry's index.
  EXPECT_THAT(token, ::testing::MatchesRegex("[a-zA-Z]{16}\\.42"));
  PluginConfig unknown("authenticator.simple", {{"ttl", "5"}});
  EXPECT_FALSE(plugin_host::create_authenticator(*host.resolve(PluginKind::kAuthenticator, "simple"),
                                                 PluginContext{unknown, logger})
                   .ok());
}

}  // namespace
}  // namespace keel::testing
