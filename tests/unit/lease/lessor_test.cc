// The Lessor over a real MVCC store on each backend plugin, with a clock the tests drive: grant
// and its refusals, attach by put, revoke in one revision, expiry reports, keep-alive, time-to-live
// with keys, checkpoints, promote/demote and restart.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <random>
#include <set>

#include "lease/lease.h"
#include "mvcc/revision.h"
#include "mvcc_test_util.h"

namespace keel::lease {
namespace {

using mvcc::StoreOptions;
using mvcc::testing::FakeClock;
using namespace std::chrono_literals;

class LessorTest : public mvcc::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    open_lessor();
  }
  void TearDown() override {
    lessor_.reset();
    StoreTest::TearDown();
  }
  void open_lessor() {
    auto l = Lessor::open(store(), clock_, lease_options_);
    ASSERT_TRUE(l.ok()) << l.status().to_string();
    lessor_ = std::move(*l);
  }
  void restart() {
    lessor_.reset();
    reopen();
    open_lessor();
  }
  Status put(const std::string& key, int64_t lease) {
    mvcc::PutRequest p;
    p.key = key;
    p.value = "v";
    p.lease = lease;
    return store().put(p, ++index_).status();
  }
  std::vector<std::string> all_keys() {
    mvcc::RangeRequest r;
    r.key = std::string(1, '\0');
    r.range_end = std::string(1, '\0');
    std::vector<std::string> out;
    auto resp = store().range(r);
    EXPECT_TRUE(resp.ok()) << resp.status().to_string();
    if (!resp.ok()) return out;
    for (const auto& kv : resp->kvs) out.push_back(kv.key);
    return out;
  }

  FakeClock clock_;
  LessorOptions lease_options_;
  std::unique_ptr<Lessor> lessor_;
  uint64_t index_ = 0;
};

void expect_error(const Status& s, Status::Code code, const std::string& text) {
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_EQ(s.message(), text);
}

TEST(LeaseOptions, MinimumTtlIsOneAndAHalfElectionTimeouts) {
  EXPECT_EQ(min_ttl(LessorOptions{}), 2);
  LessorOptions o;
  o.election_timeout = 5000ms;
  EXPECT_EQ(min_ttl(o), 8);
  o.election_timeout = 100ms;
  EXPECT_EQ(min_ttl(o), 1);
}

TEST_P(LessorTest, GrantAndItsRefusals) {
  auto g = lessor_->grant(100, 1, ++index_);
  ASSERT_OK_R(g);
  EXPECT_EQ(g->id, 100);
  EXPECT_EQ(g->ttl, 2);  // raised to the minimum
  expect_error(lessor_->grant(100, 10, ++index_).status(), Status::Code::kFailedPrecondition,
               "etcdserver: lease already exists");
  expect_error(lessor_->grant(101, kMaxLeaseTtl + 1, ++index_).status(), Status::Code::kOutOfRange,
               "etcdserver: too large lease TTL");
  ASSERT_OK_R(lessor_->grant(102, kMaxLeaseTtl, ++index_));
  // ID 0: the lessor picks, from the entry's index, skipping IDs in use.
  auto chosen = lessor_->grant(0, 30, 100);
  ASSERT_OK_R(chosen);
  EXPECT_EQ(chosen->id, 101);
  EXPECT_EQ(lessor_->leases(), (std::vector<int64_t>{100, 101, 102}));
  expect_error(lessor_->revoke(999, ++index_).status(), Status::Code::kNotFound,
               "etcdserver: requested lease not found");
  expect_error(put("k", 999), Status::Code::kNotFound, "etcdserver: requested lease not found");
  EXPECT_EQ(store().current_revision(), 1);
}

TEST_P(LessorTest, RevokeDeletesEveryKeyInOneRevision) {
  ASSERT_OK_R(lessor_->grant(7, 60, ++index_));
  ASSERT_OK(put("a", 7));
  ASSERT_OK(put("b", 7));
  ASSERT_OK(put("c", 0));
  ASSERT_OK(put("d", 7));
  ASSERT_OK(put("d", 0));  // a put without the lease detaches it
  auto ttl = lessor_->time_to_live(7, true);
  EXPECT_EQ(ttl.keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ttl.granted_ttl, 60);
  std::vector<Event> events;
  auto r = lessor_->revoke(7, ++index_, &events);
  ASSERT_OK_R(r);
  EXPECT_EQ(r->revision, 7);
  EXPECT_EQ(store().current_revision(), 7);
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e.type, Event::Type::kDelete);
    EXPECT_EQ(e.kv.mod_revision, 7);
  }
  EXPECT_EQ(all_keys(), (std::vector<std::string>{"c", "d"}));
  EXPECT_EQ(lessor_->time_to_live(7, true).ttl, -1);
  EXPECT_TRUE(lessor_->leases().empty());
  // A lease with no keys revokes without a revision.
  ASSERT_OK_R(lessor_->grant(8, 60, ++index_));
  EXPECT_EQ(lessor_->revoke(8, ++index_)->revision, 7);
}

TEST_P(LessorTest, OnlyThePrimaryExpiresLeases) {
  ASSERT_OK_R(lessor_->grant(1, 5, ++index_));
  ASSERT_OK_R(lessor_->grant(2, 10, ++index_));
  clock_.advance(100s);
  EXPECT_TRUE(lessor_->expired_leases(10).empty());  // not primary: leases live forever
  expect_error(lessor_->renew(1).status(), Status::Code::kUnavailable, "not a primary lessor");
  lessor_->promote(0s);
  EXPECT_TRUE(lessor_->expired_leases(10).empty());
  clock_.advance(6s);
  EXPECT_EQ(lessor_->expired_leases(10), (std::vector<int64_t>{1}));
  EXPECT_TRUE(lessor_->expired_leases(10).empty());  // reported once per retry interval
  clock_.advance(3s);
  EXPECT_EQ(lessor_->expired_leases(10), (std::vector<int64_t>{1}));
  clock_.advance(2s);
  EXPECT_EQ(lessor_->expired_leases(1), (std::vector<int64_t>{2}));  // soonest first: 1 waits
  expect_error(lessor_->renew(1).status(), Status::Code::kNotFound,
               "etcdserver: requested lease not found");
  lessor_->demote();
  clock_.advance(100s);
  EXPECT_TRUE(lessor_->expired_leases(10).empty());
}

TEST_P(LessorTest, KeepAliveExtends) {
  ASSERT_OK_R(lessor_->grant(1, 10, ++index_));
  lessor_->promote(0s);
  clock_.advance(8s);
  EXPECT_EQ(lessor_->time_to_live(1, false).ttl, 2);
  auto ttl = lessor_->renew(1);
  ASSERT_OK_R(ttl);
  EXPECT_EQ(*ttl, 10);
  clock_.advance(8s);
  EXPECT_TRUE(lessor_->expired_leases(10).empty());
  EXPECT_EQ(lessor_->time_to_live(1, false).ttl, 2);
  clock_.advance(3s);
  EXPECT_EQ(lessor_->expired_leases(10), (std::vector<int64_t>{1}));
  EXPECT_EQ(lessor_->time_to_live(1, false).ttl, 0);
}

TEST_P(LessorTest, PromoteExtendsEveryLease) {
  ASSERT_OK_R(lessor_->grant(1, 5, ++index_));
  lessor_->promote(2s);
  clock_.advance(6s);
  EXPECT_TRUE(lessor_->expired_leases(10).empty());
  clock_.advance(2s);
  EXPECT_EQ(lessor_->expired_leases(10), (std::vector<int64_t>{1}));
}

TEST_P(LessorTest, PromoteSpreadsPiledUpExpiries) {
  lease_options_.revoke_rate = 8;  // at most 6 expiries a second after a promote
  lessor_.reset();
  open_lessor();
  for (int64_t id = 1; id <= 20; ++id) ASSERT_OK_R(lessor_->grant(id, 10, ++index_));
  lessor_->promote(0s);
  std::map<int64_t, int> per_second;
  const auto start = clock_.now();
  for (int64_t id = 1; id <= 20; ++id) {
    auto e = lessor_->expiry(id);
    ASSERT_OK_R(e);
    ++per_second[std::chrono::duration_cast<std::chrono::seconds>(*e - start).count()];
  }
  for (const auto& [second, n] : per_second) EXPECT_LE(n, 6) << "second " << second;
  EXPECT_EQ(per_second.begin()->first, 10);  // the first ones keep their TTL
}

TEST_P(LessorTest, CheckpointsCarryTheRemainingTtl) {
  lease_options_.checkpoint_interval = 60s;
  lessor_.reset();
  open_lessor();
  ASSERT_OK_R(lessor_->grant(1, 600, ++index_));
  ASSERT_OK_R(lessor_->grant(2, 30, ++index_));  // shorter than the interval: never checkpointed
  lessor_->promote(0s);
  EXPECT_TRUE(lessor_->checkpoints_due().empty());
  clock_.advance(61s);
  auto due = lessor_->checkpoints_due();
  ASSERT_EQ(due, (std::vector<LeaseCheckpoint>{{1, 539}}));
  ASSERT_OK(lessor_->checkpoint(due, ++index_));
  // A new leader (after a restart here) starts lease 1 from its checkpoint, not from 600 s.
  restart();
  EXPECT_EQ(lessor_->time_to_live(1, false).ttl, 539);
  lessor_->promote(0s);
  clock_.advance(540s);
  EXPECT_EQ(lessor_->expired_leases(10), (std::vector<int64_t>{2, 1}));  // soonest first
  // A renewal clears the checkpoint everywhere.
  ASSERT_OK_R(lessor_->grant(3, 600, ++index_));
  ASSERT_OK(lessor_->checkpoint({{3, 100}}, ++index_));
  ASSERT_OK_R(lessor_->renew(3));
  EXPECT_EQ(lessor_->checkpoints_due(), (std::vector<LeaseCheckpoint>{{3, 0}}));
}

TEST_P(LessorTest, RestartKeepsLeasesAndTheirKeys) {
  ASSERT_OK_R(lessor_->grant(5, 60, ++index_));
  ASSERT_OK_R(lessor_->grant(6, 60, ++index_));
  ASSERT_OK(put("x", 5));
  ASSERT_OK(put("y", 5));
  ASSERT_OK(put("z", 6));
  ASSERT_OK_R(lessor_->revoke(6, ++index_));
  restart();
  EXPECT_EQ(lessor_->leases(), (std::vector<int64_t>{5}));
  EXPECT_EQ(store().consistent_index(), index_);
  auto ttl = lessor_->time_to_live(5, true);
  EXPECT_EQ(ttl.keys, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ttl.ttl, 60);  // not primary: the full TTL
  ASSERT_OK_R(lessor_->revoke(5, ++index_));
  EXPECT_TRUE(all_keys().empty());
  restart();
  EXPECT_TRUE(lessor_->leases().empty());
}

TEST_P(LessorTest, TxnPutsCheckAndAttachLeases) {
  ASSERT_OK_R(lessor_->grant(9, 60, ++index_));
  mvcc::TxnRequest t;
  mvcc::PutRequest p;
  p.key = "t";
  p.lease = 9;
  t.success.push_back(mvcc::RequestOp{p});
  ASSERT_OK_R(store().txn(t, ++index_));
  EXPECT_EQ(lessor_->time_to_live(9, true).keys, (std::vector<std::string>{"t"}));
  p.lease = 10;
  t.success = {mvcc::RequestOp{p}};
  expect_error(store().txn(t, ++index_).status(), Status::Code::kNotFound,
               "etcdserver: requested lease not found");
  mvcc::DeleteRangeRequest d;
  d.key = "t";
  ASSERT_OK_R(store().delete_range(d, ++index_));
  EXPECT_TRUE(lessor_->time_to_live(9, true).keys.empty());
}

TEST_P(LessorTest, RevokeCommitsKeysAndLeaseTogether) {
  StoreOptions o = options_;
  o.batch_limit = 1000;  // nothing reaches the Backend before force_commit
  lessor_.reset();
  reopen(o);
  open_lessor();
  ASSERT_OK_R(lessor_->grant(4, 60, ++index_));
  ASSERT_OK(put("k", 4));
  ASSERT_OK(store().force_commit());
  auto stored = [&] {
    auto tx = backend_->begin_read();
    std::string v;
    const bool lease = (*tx)->get(kLeaseBucket, std::string("\0\0\0\0\0\0\0\x04", 8), &v).ok();
    const bool key = (*tx)->get(mvcc::kKeyBucket, mvcc::encode_revision_key({3, 0}, true), &v).ok();
    return std::pair(lease, key);
  };
  ASSERT_OK_R(lessor_->revoke(4, ++index_));
  EXPECT_EQ(stored(), std::pair(true, false));  // neither the revoke's tombstone nor the erase yet
  ASSERT_OK(store().force_commit());
  EXPECT_EQ(stored(), std::pair(false, true));  // both at once
}

// Random grants, revokes, puts with and without leases and deletes against a model of which keys
// each lease holds; after every step (and every restart) the lessor and the store agree with it.
TEST_P(LessorTest, RandomOperationsMatchTheModel) {
  uint64_t seed = 1;
  if (const char* s = std::getenv("KEEL_MVCC_SEED")) seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("seed " + std::to_string(seed) + "; replay: KEEL_MVCC_SEED=" + std::to_string(seed) +
               " ./lease_test --gtest_filter='*RandomOperations*'");
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  std::map<int64_t, std::set<std::string>> model;  // lease -> keys
  std::map<std::string, int64_t> key_lease;         // live key -> lease (0 = none)
  for (int step = 0; step < 600; ++step) {
    const int op = pick(100);
    const int64_t id = 1 + pick(6);
    const std::string key(1, static_cast<char>('a' + pick(8)));
    if (op < 15) {
      auto g = lessor_->grant(id, 60, ++index_);
      ASSERT_EQ(g.ok(), !model.count(id)) << step;
      model[id];
    } else if (op < 25) {
      auto r = lessor_->revoke(id, ++index_);
      ASSERT_EQ(r.ok(), model.count(id) > 0) << step;
      if (r.ok()) {
        for (const auto& k : model[id]) key_lease.erase(k);
        model.erase(id);
      }
    } else if (op < 70) {
      const int64_t lease = pick(2) ? id : 0;
      Status s = put(key, lease);
      ASSERT_EQ(s.ok(), lease == 0 || model.count(lease) > 0) << step << " " << s.to_string();
      if (s.ok()) {
        if (auto it = key_lease.find(key); it != key_lease.end() && it->second != 0) {
          model[it->second].erase(key);
        }
        key_lease[key] = lease;
        if (lease != 0) model[lease].insert(key);
      }
    } else if (op < 85) {
      mvcc::DeleteRangeRequest d;
      d.key = key;
      ASSERT_OK_R(store().delete_range(d, ++index_));
      if (auto it = key_lease.find(key); it != key_lease.end()) {
        if (it->second != 0) model[it->second].erase(key);
        key_lease.erase(it);
      }
    } else if (op < 88) {
      restart();
    }
    std::vector<int64_t> ids;
    for (const auto& [lease, keys] : model) {
      ids.push_back(lease);
      auto ttl = lessor_->time_to_live(lease, true);
      ASSERT_EQ(ttl.keys, std::vector<std::string>(keys.begin(), keys.end())) << step;
    }
    ASSERT_EQ(lessor_->leases(), ids) << step;
    std::vector<std::string> live;
    for (const auto& [k, l] : key_lease) live.push_back(k);
    ASSERT_EQ(all_keys(), live) << step;
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, LessorTest,
                         ::testing::ValuesIn(mvcc::testing::backend_names()),
                         mvcc::testing::backend_param_name);

}  // namespace
}  // namespace keel::lease
