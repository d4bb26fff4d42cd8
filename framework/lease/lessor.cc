#include "lease/lessor.h"

#include <algorithm>
#include <cmath>

#include "lease/lease.h"
#include "mvcc/revision.h"

namespace keel::lease {
namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr size_t kLeaseValueSize = 24;  // id, ttl, remaining_ttl: 8-byte big-endian each

}  // namespace

int64_t min_ttl(const LessorOptions& options) {
  const double secs = 1.5 * static_cast<double>(options.election_timeout.count()) / 1000.0;
  return static_cast<int64_t>(std::ceil(secs));
}

Lessor::Lessor(mvcc::KvStore& store, Clock& clock, const LessorOptions& options)
    : store_(store), clock_(clock), options_(options), min_ttl_(min_ttl(options)) {}

Lessor::~Lessor() { store_.set_lease_hooks(nullptr); }

std::string Lessor::key_of(int64_t id) {
  std::string k;
  mvcc::append_u64_be(&k, static_cast<uint64_t>(id));
  return k;
}

std::string Lessor::encode(int64_t id, const Lease& l) {
  std::string v;
  mvcc::append_u64_be(&v, static_cast<uint64_t>(id));
  mvcc::append_u64_be(&v, static_cast<uint64_t>(l.ttl));
  mvcc::append_u64_be(&v, static_cast<uint64_t>(l.remaining_ttl));
  return v;
}

Result<std::unique_ptr<Lessor>> Lessor::open(mvcc::KvStore& store, Clock& clock,
                                             const LessorOptions& options) {
  KEEL_RETURN_IF_ERROR(store.backend().create_bucket(kLeaseBucket));
  std::unique_ptr<Lessor> lessor(new Lessor(store, clock, options));
  KEEL_RETURN_IF_ERROR(lessor->load());
  store.set_lease_hooks(lessor.get());
  return lessor;
}

Status Lessor::load() {
  auto tx = store_.backend().begin_read();
  if (!tx.ok()) return tx.status();
  auto c = (*tx)->cursor(kLeaseBucket);
  if (!c.ok()) return c.status();
  std::lock_guard lock(mu_);
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
    std::string_view v = (*c)->value();
    if (v.size() != kLeaseValueSize || (*c)->key() != v.substr(0, 8)) {
      return Status::Corruption("lease: malformed record in the lease bucket");
    }
    Lease l;
    l.ttl = static_cast<int64_t>(mvcc::read_u64_be(v.substr(8, 8)));
    l.remaining_ttl = static_cast<int64_t>(mvcc::read_u64_be(v.substr(16, 8)));
    leases_[static_cast<int64_t>(mvcc::read_u64_be(v.substr(0, 8)))] = std::move(l);
  }
  return (*c)->status();
}

void Lessor::refresh(Lease& l, nanoseconds extend, Clock::TimePoint now) {
  const int64_t ttl = l.remaining_ttl > 0 ? l.remaining_ttl : l.ttl;
  l.expiry = now + extend + seconds(ttl);
  l.report_after = {};
}

void Lessor::schedule_checkpoint(Lease& l, Clock::TimePoint now) {
  l.next_checkpoint = l.ttl > options_.checkpoint_interval.count()
                          ? now + options_.checkpoint_interval
                          : Clock::TimePoint::max();
}

Result<LeaseGrantResponse> Lessor::grant(int64_t id, int64_t ttl, uint64_t index) {
  if (ttl > kMaxLeaseTtl) {
    store_.set_consistent_index(index);
    return ErrLeaseTtlTooLarge();
  }
  Lease l;
  l.ttl = std::max(ttl, min_ttl_);
  {
    std::lock_guard lock(mu_);
    if (id == 0) {
      // Chosen from replicated state only, so every member picks the same.
      id = std::max<int64_t>(static_cast<int64_t>(index & 0x7fffffffffffffff), 1);
      while (leases_.count(id)) ++id;
    } else if (leases_.count(id)) {
      store_.set_consistent_index(index);
      return ErrLeaseExists();
    }
  }
  WriteBatch b;
  b.put(kLeaseBucket, key_of(id), encode(id, l));
  KEEL_RETURN_IF_ERROR(store_.stage(b, index));
  std::lock_guard lock(mu_);
  if (primary_) {
    const auto now = clock_.now();
    refresh(l, nanoseconds(0), now);
    schedule_checkpoint(l, now);
  }
  LeaseGrantResponse resp{store_.current_revision(), id, l.ttl};
  leases_[id] = std::move(l);
  if (options_.granted != nullptr) options_.granted->inc();
  if (options_.granted_ttl != nullptr) options_.granted_ttl->observe(static_cast<double>(resp.ttl));
  return resp;
}

Result<LeaseRevokeResponse> Lessor::revoke(int64_t id, uint64_t index, std::vector<Event>* events) {
  std::vector<std::string> keys;
  {
    std::lock_guard lock(mu_);
    auto it = leases_.find(id);
    if (it == leases_.end()) {
      store_.set_consistent_index(index);
      return ErrLeaseNotFound();
    }
    keys.assign(it->second.keys.begin(), it->second.keys.end());  // sorted: same order everywhere
  }
  // The keys and the lease go in one revision and one commit (the store detaches the keys).
  WriteBatch b;
  b.erase(kLeaseBucket, key_of(id));
  auto deleted = store_.delete_keys(keys, b, index, events);
  if (!deleted.ok()) return deleted.status();
  std::lock_guard lock(mu_);
  leases_.erase(id);
  if (options_.revoked != nullptr) options_.revoked->inc();
  return LeaseRevokeResponse{deleted->header.revision};
}

Status Lessor::checkpoint(const std::vector<LeaseCheckpoint>& checkpoints, uint64_t index) {
  WriteBatch b;
  {
    std::lock_guard lock(mu_);
    const auto now = clock_.now();
    for (const auto& cp : checkpoints) {
      auto it = leases_.find(cp.id);
      if (it == leases_.end()) continue;
      it->second.remaining_ttl = cp.remaining_ttl;
      b.put(kLeaseBucket, key_of(cp.id), encode(cp.id, it->second));
      if (primary_) schedule_checkpoint(it->second, now);
    }
  }
  return store_.stage(b, index);
}

Result<int64_t> Lessor::renew(int64_t id) {
  std::lock_guard lock(mu_);
  if (!primary_) return ErrNotPrimary();
  auto it = leases_.find(id);
  const auto now = clock_.now();
  if (it == leases_.end() || it->second.expiry <= now) return ErrLeaseNotFound();
  Lease& l = it->second;
  if (l.remaining_ttl > 0) {
    // A checkpointed remaining TTL no longer applies; the members learn so by a checkpoint.
    l.remaining_ttl = 0;
    pending_clears_.push_back(LeaseCheckpoint{id, 0});
  }
  refresh(l, nanoseconds(0), now);
  schedule_checkpoint(l, now);
  if (options_.renewed != nullptr) options_.renewed->inc();
  return l.ttl;
}

void Lessor::promote(nanoseconds extend) {
  std::lock_guard lock(mu_);
  primary_ = true;
  const auto now = clock_.now();
  for (auto& [id, l] : leases_) {
    refresh(l, extend, now);
    schedule_checkpoint(l, now);
  }
  if (leases_.size() < options_.revoke_rate) return;  // no pile-up possible
  // etcd's Promote: spread expiries so no second holds more than 3/4 of the revoke rate, or a new
  // leader of many leases granted together would expire them all at once.
  std::vector<std::pair<Clock::TimePoint, int64_t>> by_expiry;
  for (const auto& [id, l] : leases_) by_expiry.emplace_back(l.expiry, id);
  std::sort(by_expiry.begin(), by_expiry.end());
  const auto target = static_cast<int64_t>(3 * options_.revoke_rate / 4);
  nanoseconds base = by_expiry.front().first - now;
  nanoseconds next = base + seconds(1);
  int64_t expires = 0;
  for (const auto& [expiry, id] : by_expiry) {
    const nanoseconds remaining = expiry - now;
    if (remaining > next) {
      base = remaining;
      next = base + seconds(1);
      expires = 1;
      continue;
    }
    if (++expires <= target) continue;
    // If leases are extended by n seconds, those n seconds past the window move by only one.
    const double delay_ns = 1e9 * static_cast<double>(expires) / static_cast<double>(target) -
                            static_cast<double>((remaining - base).count());
    const nanoseconds delay(static_cast<int64_t>(delay_ns));
    next = base + delay;
    Lease& l = leases_[id];
    refresh(l, delay + extend, now);
    schedule_checkpoint(l, now);
  }
}

void Lessor::demote() {
  std::lock_guard lock(mu_);
  primary_ = false;
  pending_clears_.clear();
  for (auto& [id, l] : leases_) {
    l.expiry = Clock::TimePoint::max();
    l.next_checkpoint = Clock::TimePoint::max();
  }
}

bool Lessor::is_primary() const {
  std::lock_guard lock(mu_);
  return primary_;
}

std::vector<int64_t> Lessor::expired_leases(size_t limit) {
  std::lock_guard lock(mu_);
  if (!primary_) return {};
  const auto now = clock_.now();
  std::vector<std::pair<Clock::TimePoint, int64_t>> due;
  for (const auto& [id, l] : leases_) {
    if (l.expiry <= now && l.report_after <= now) due.emplace_back(l.expiry, id);
  }
  std::sort(due.begin(), due.end());
  if (due.size() > limit) due.resize(limit);
  std::vector<int64_t> out;
  for (const auto& [when, id] : due) {
    leases_[id].report_after = now + options_.expired_retry_interval;
    out.push_back(id);
  }
  return out;
}

std::vector<LeaseCheckpoint> Lessor::checkpoints_due() {
  std::lock_guard lock(mu_);
  std::vector<LeaseCheckpoint> out;
  out.swap(pending_clears_);
  if (!primary_) return out;
  const auto now = clock_.now();
  for (auto& [id, l] : leases_) {
    if (l.next_checkpoint > now || l.expiry <= now) continue;
    const double left = std::chrono::duration<double>(l.expiry - now).count();
    out.push_back(LeaseCheckpoint{id, static_cast<int64_t>(std::ceil(left))});
    schedule_checkpoint(l, now);
  }
  return out;
}

LeaseTimeToLiveResponse Lessor::time_to_live(int64_t id, bool with_keys) const {
  std::lock_guard lock(mu_);
  LeaseTimeToLiveResponse resp;
  resp.id = id;
  auto it = leases_.find(id);
  if (it == leases_.end()) return resp;
  const Lease& l = it->second;
  resp.granted_ttl = l.ttl;
  if (l.expiry == Clock::TimePoint::max()) {
    resp.ttl = l.remaining_ttl > 0 ? l.remaining_ttl : l.ttl;
  } else {
    const auto left = l.expiry - clock_.now();
    resp.ttl = left.count() > 0 ? duration_cast<seconds>(left).count() : 0;
  }
  if (with_keys) resp.keys.assign(l.keys.begin(), l.keys.end());
  return resp;
}

std::vector<int64_t> Lessor::leases() const {
  std::lock_guard lock(mu_);
  std::vector<int64_t> out;
  for (const auto& [id, l] : leases_) out.push_back(id);
  return out;
}

Result<Clock::TimePoint> Lessor::expiry(int64_t id) const {
  std::lock_guard lock(mu_);
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrLeaseNotFound();
  return it->second.expiry;
}

bool Lessor::lease_exists(int64_t lease) {
  std::lock_guard lock(mu_);
  return leases_.count(lease) > 0;
}

void Lessor::attach(int64_t lease, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(lease);
  if (it != leases_.end()) it->second.keys.emplace(key);
}

void Lessor::detach(int64_t lease, std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = leases_.find(lease);
  if (it == leases_.end()) return;
  auto k = it->second.keys.find(key);
  if (k != it->second.keys.end()) it->second.keys.erase(k);
}

}  // namespace keel::lease
