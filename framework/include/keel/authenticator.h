// keel::Authenticator: turns a verified user into a token and a token back into the user.
//
// The member is to check names and passwords itself (bcrypt, in its auth store, which is not built
// yet: the member loads its authenticator and asks it nothing so far); an authenticator only issues
// and checks tokens, as etcd's "simple" and "jwt" token providers do.
//
// The contract every authenticator keeps (tests/plugins/authenticator checks it for each one):
// - assign() returns a token that verify() maps back to the same identity until it expires; given
//   the same context, every member's authenticator returns the same token.
// - verify() refuses an expired, forged, malformed or revoked token with
//   Status::Unauthenticated("etcdserver: invalid auth token").
// - A new authenticator is disabled: it issues and verifies tokens only after enable(). After
//   disable(), no token verifies; after revoke_user(u), no token of u issued before verifies.
//
// Thread safety: every method may be called from any thread at once.
#ifndef KEEL_AUTHENTICATOR_H_
#define KEEL_AUTHENTICATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "keel/clock.h"
#include "keel/status.h"

namespace keel {

// Who a token stands for: the user, and the auth store's revision when it was issued (etcd
// refuses requests made with a token older than a later auth change: ErrAuthOldRevision).
struct AuthIdentity {
  std::string user;
  uint64_t auth_revision = 0;
  friend bool operator==(const AuthIdentity&, const AuthIdentity&) = default;
};

// What the applied Authenticate entry carries: the same on every member.
struct AssignContext {
  std::string token_prefix;  // from gen_token_prefix() on the proposing member
  uint64_t index = 0;        // the Raft index of the Authenticate entry
};

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  Authenticator() = default;
  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  // A fresh random prefix for a token (simple tokens), or "" (tokens that carry their own
  // proof, such as JWT). The member that takes an Authenticate request calls it and replicates
  // the prefix in the Raft entry, so every member assigns the same token when it applies the
  // entry, as etcd's token providers do.
  virtual std::string gen_token_prefix() = 0;
  virtual Result<std::string> assign(const AuthIdentity& identity, const AssignContext& context) = 0;
  virtual Result<AuthIdentity> verify(std::string_view token) = 0;
  // Auth was turned on (tokens may be issued) or off (every token is forgotten).
  virtual void enable() = 0;
  virtual void disable() = 0;
  // Forgets every token issued to `user` (deleted, or its password changed).
  virtual void revoke_user(std::string_view user) = 0;
};

struct AuthenticatorOptions {
  std::chrono::seconds token_ttl{300};  // etcd's --auth-token-ttl
  Clock* clock = nullptr;               // not owned; outlives the authenticator
};

class AuthenticatorPlugin {
 public:
  virtual ~AuthenticatorPlugin() = default;
  virtual Result<std::unique_ptr<Authenticator>> create(const AuthenticatorOptions& options) = 0;
};

}  // namespace keel

#endif  // KEEL_AUTHENTICATOR_H_
