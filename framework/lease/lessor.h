// Lessor: keel's leases (etcd's lease.lessor). A lease has an ID and a TTL; keys put with a lease
// are attached to it, and revoking the lease deletes them all in one revision of the MVCC store.
//
// Replicated (apply thread, every member, same order): grant, revoke, checkpoint. Each persists
// to the `lease` bucket in the same Backend commit as the MVCC changes of its Raft entry, so a
// restart finds exactly the leases the applied index says.
//
// Leader-local: only the primary (the leader's lessor) tracks expiry. Time comes from the
// injected keel::Clock. The lessor never revokes by itself: expired_leases() reports the leases
// whose time is up and the caller proposes their revocation through Raft, as etcd does. A member
// starts as a non-primary, where every lease lives forever; promote(extend) on becoming leader
// restarts every lease's clock (extended by `extend`, etcd's election-timeout grace), demote()
// on losing leadership stops it. Checkpoints carry a lease's remaining TTL to the other members
// so a new leader does not restart long leases from their full TTL.
//
// TTLs: below the minimum (⌈1.5 × election timeout⌉ s, 2 s by default) a TTL is raised to it;
// above 9e9 s it is refused. Errors are etcd's (errors in lease.h).
//
// Thread safety: every method may be called from any thread; the replicated ones come from the
// apply thread only. Lock order: the store's write lock, then the lessor's.
#ifndef KEEL_LEASE_LESSOR_H_
#define KEEL_LEASE_LESSOR_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "keel/clock.h"
#include "keel/status.h"
#include "metrics/metrics.h"
#include "mvcc/kv_store.h"
#include "mvcc/lease_hooks.h"

namespace keel::lease {

inline constexpr char kLeaseBucket[] = "lease";
inline constexpr int64_t kMaxLeaseTtl = 9'000'000'000;  // seconds

struct LessorOptions {
  // --election-timeout: the minimum TTL is ⌈1.5 × this⌉ in seconds.
  std::chrono::milliseconds election_timeout{1000};
  // How often the primary checkpoints a lease's remaining TTL (leases longer than this only).
  std::chrono::seconds checkpoint_interval{300};
  // How long before an expired lease reported once is reported again (its revoke may be lost).
  std::chrono::seconds expired_retry_interval{3};
  // etcd's leaseRevokeRate: revokes a leader proposes per second at most; promote spreads the
  // expiries of this many or more leases so no second holds more than 3/4 of it.
  size_t revoke_rate = 1000;
  // etcd_debugging_lease_{granted,revoked,renewed}_total and _ttl_total (the granted TTLs);
  // not owned, may be null.
  metrics::Counter* granted = nullptr;
  metrics::Counter* revoked = nullptr;
  metrics::Counter* renewed = nullptr;
  metrics::Histogram* granted_ttl = nullptr;
};

// ⌈1.5 × election timeout⌉ in seconds.
int64_t min_ttl(const LessorOptions& options);

struct LeaseGrantResponse {
  int64_t revision = 0;  // the store's revision (grants do not change it)
  int64_t id = 0;
  int64_t ttl = 0;       // the TTL granted (raised to the minimum)
};

struct LeaseRevokeResponse {
  int64_t revision = 0;  // the revision that deleted the keys (unchanged if there were none)
};

struct LeaseTimeToLiveResponse {
  int64_t id = 0;
  int64_t ttl = -1;          // seconds left; -1: no such lease (etcd's answer, not an error)
  int64_t granted_ttl = 0;
  std::vector<std::string> keys;  // in key order, when asked for
};

struct LeaseCheckpoint {
  int64_t id = 0;
  int64_t remaining_ttl = 0;  // seconds; 0 clears a checkpoint
  friend bool operator==(const LeaseCheckpoint&, const LeaseCheckpoint&) = default;
};

class Lessor : public mvcc::LeaseHooks {
 public:
  // Loads the leases of `store`'s Backend and attaches their keys. `store` and `clock` must
  // outlive the lessor; the lessor detaches itself from the store when destroyed.
  static Result<std::unique_ptr<Lessor>> open(mvcc::KvStore& store, Clock& clock,
                                              const LessorOptions& options = {});
  ~Lessor() override;
  Lessor(const Lessor&) = delete;
  Lessor& operator=(const Lessor&) = delete;

  // ---- replicated (apply thread) ----
  // Grants lease `id` (0: the lessor picks one, the same on every member: the entry's index, or
  // the next free ID above it) for `ttl` seconds.
  Result<LeaseGrantResponse> grant(int64_t id, int64_t ttl, uint64_t index);
  // Deletes every key attached to `id` in one revision and forgets the lease, in one commit.
  Result<LeaseRevokeResponse> revoke(int64_t id, uint64_t index,
                                     std::vector<Event>* events = nullptr);
  // Records the remaining TTL of leases (unknown ones are skipped).
  Status checkpoint(const std::vector<LeaseCheckpoint>& checkpoints, uint64_t index);

  // ---- leader-local ----
  // Keep-alive: restarts the lease's TTL and returns it. Unavailable "not a primary lessor" on a
  // non-primary; NotFound (etcd's text) for an unknown or expired lease.
  Result<int64_t> renew(int64_t id);
  // Becoming leader: every lease's clock restarts, extended by `extend`, and piled-up expiries
  // are spread out (see LessorOptions::revoke_rate).
  void promote(std::chrono::nanoseconds extend);
  void demote();
  bool is_primary() const;
  // Up to `limit` leases whose time is up, soonest first, for the caller to propose revoking. A
  // lease reported is reported again after expired_retry_interval if it is still there.
  std::vector<int64_t> expired_leases(size_t limit);
  // Checkpoints due now (the primary's remaining TTLs, and clears after a renew), to propose.
  std::vector<LeaseCheckpoint> checkpoints_due();

  // ---- reads ----
  LeaseTimeToLiveResponse time_to_live(int64_t id, bool with_keys) const;
  std::vector<int64_t> leases() const;  // every lease ID, ascending
  // The lease's expiry in clock time (TimePoint::max() while not primary); NotFound if unknown.
  Result<Clock::TimePoint> expiry(int64_t id) const;

  // ---- mvcc::LeaseHooks ----
  bool lease_exists(int64_t lease) override;
  void attach(int64_t lease, std::string_view key) override;
  void detach(int64_t lease, std::string_view key) override;

 private:
  struct Lease {
    int64_t ttl = 0;            // granted, seconds
    int64_t remaining_ttl = 0;  // the last checkpoint, seconds (0: none)
    Clock::TimePoint expiry = Clock::TimePoint::max();
    Clock::TimePoint report_after{};       // when expired_leases may report it again
    Clock::TimePoint next_checkpoint = Clock::TimePoint::max();
    std::set<std::string, std::less<>> keys;
  };

  Lessor(mvcc::KvStore& store, Clock& clock, const LessorOptions& options);
  Status load();
  // Under mu_.
  void refresh(Lease& l, std::chrono::nanoseconds extend, Clock::TimePoint now);
  void schedule_checkpoint(Lease& l, Clock::TimePoint now);
  static std::string key_of(int64_t id);
  static std::string encode(int64_t id, const Lease& l);

  mvcc::KvStore& store_;
  Clock& clock_;
  const LessorOptions options_;
  const int64_t min_ttl_;

  mutable std::mutex mu_;
  std::map<int64_t, Lease> leases_;
  bool primary_ = false;
  std::vector<LeaseCheckpoint> pending_clears_;  // checkpoints to clear after renewals
};

}  // namespace keel::lease

#endif  // KEEL_LEASE_LESSOR_H_
