// LeaseHooks: how the MVCC store tells the lease module (framework/lease) which keys a put attaches
// to a lease or a put/delete detaches, and asks whether a lease exists, without depending on it.
// Called on the apply thread, inside the store's write lock: implementations must not call back
// into the store's write methods.
#ifndef KEEL_MVCC_LEASE_HOOKS_H_
#define KEEL_MVCC_LEASE_HOOKS_H_

#include <cstdint>
#include <string_view>

namespace keel::mvcc {

class LeaseHooks {
 public:
  virtual ~LeaseHooks() = default;
  virtual bool lease_exists(int64_t lease) = 0;
  virtual void attach(int64_t lease, std::string_view key) = 0;
  virtual void detach(int64_t lease, std::string_view key) = 0;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_LEASE_HOOKS_H_
