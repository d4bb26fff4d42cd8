// The randomized model test: long random sequences of put, delete, txn, compact and range (every
// option) run against keel's store and against a tiny reference model — a map from each revision
// to the whole key space — compared after every operation and after close-and-reopen, on every
// backend. A failure prints its seed and the command that replays it (KEEL_MVCC_SEED).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "mvcc/errors.h"
#include "mvcc/validate.h"
#include "mvcc_test_util.h"

namespace keel::mvcc::testing {
namespace {

using KeySpace = std::map<std::string, KeyValue>;

// The reference: every revision's key space, kept whole. Slow and obviously right.
class Model {
 public:
  Model() { states_[1] = {}; }  // an empty store is at revision 1, as etcd's
  int64_t rev() const { return rev_; }
  // The key space at revision `r` (REQUIRES: not compacted away).
  const KeySpace& at(int64_t r) const { return std::prev(states_.upper_bound(r))->second; }

  Result<RangeResponse> range(const RangeRequest& r) const {
    KEEL_RETURN_IF_ERROR(validate(r));
    return range_in(r, rev_, nullptr);
  }

  Result<PutResponse> put(const PutRequest& r) {
    KEEL_RETURN_IF_ERROR(validate(r));
    KeySpace next = states_.at(rev_);
    if ((r.ignore_value || r.ignore_lease) && !next.count(r.key)) return ErrKeyNotFound();
    PutResponse resp = do_put(r, &next, rev_ + 1);
    commit(std::move(next));
    return resp;
  }

  Result<DeleteRangeResponse> del(const DeleteRangeRequest& r) {
    KEEL_RETURN_IF_ERROR(validate(r));
    KeySpace next = states_.at(rev_);
    DeleteRangeResponse resp = do_del(r, &next, rev_);
    if (resp.deleted > 0) {
      resp.header.revision = rev_ + 1;
      commit(std::move(next));
    }
    return resp;
  }

  Result<TxnResponse> txn(const TxnRequest& t) {
    KEEL_RETURN_IF_ERROR(validate(t));
    const KeySpace& before = states_.at(rev_);
    KEEL_RETURN_IF_ERROR(check(t, before));
    KeySpace work = before;
    bool changed = false;
    TxnResponse resp = run(t, before, &work, &changed);
    const int64_t final_rev = changed ? rev_ + 1 : rev_;
    stamp(&resp, final_rev);
    if (changed) commit(std::move(work));
    return resp;
  }

  Result<CompactResponse> compact(int64_t rev) {
    if (rev <= compacted_) return ErrCompacted();
    if (rev > rev_) return ErrFutureRev();
    compacted_ = rev;
    states_.erase(states_.begin(), states_.lower_bound(rev));
    CompactResponse r;
    r.header.revision = rev_;
    return r;
  }

 private:
  static bool in_range(const std::string& k, const std::string& key, const std::string& end) {
    if (end.empty()) return k == key;
    if (k < key) return false;
    return end == std::string(1, '\0') || k < end;
  }

  // Reads at revision r.revision (or `work`, the txn's own view, when it is <= 0 and given).
  Result<RangeResponse> range_in(const RangeRequest& r, int64_t cur, const KeySpace* work) const {
    int64_t rev = r.revision;
    if (rev > cur) return ErrFutureRev();
    if (rev <= 0) rev = cur;
    if (rev < compacted_) return ErrCompacted();
    const KeySpace& space = (work != nullptr && rev == cur) ? *work : states_.at(rev);
    RangeResponse resp;
    resp.header.revision = cur;
    std::vector<KeyValue> kvs;
    for (const auto& [k, kv] : space) {
      if (in_range(k, r.key, r.range_end)) kvs.push_back(kv);
    }
    resp.count = static_cast<int64_t>(kvs.size());
    if (r.count_only) return resp;
    // etcd's quirk, kept: with no sort order and no filter it fetches limit+1 keys in key order
    // and only then sorts them (a target other than KEY still sorts, among those).
    const bool filtered = r.min_mod_revision != 0 || r.max_mod_revision != 0 ||
                          r.min_create_revision != 0 || r.max_create_revision != 0;
    if (r.limit > 0 && r.sort_order == SortOrder::kNone && !filtered &&
        kvs.size() > static_cast<size_t>(r.limit) + 1) {
      kvs.resize(static_cast<size_t>(r.limit) + 1);
    }
    std::erase_if(kvs, [&](const KeyValue& kv) {
      return (r.max_mod_revision != 0 && kv.mod_revision > r.max_mod_revision) ||
             (r.min_mod_revision != 0 && kv.mod_revision < r.min_mod_revision) ||
             (r.max_create_revision != 0 && kv.create_revision > r.max_create_revision) ||
             (r.min_create_revision != 0 && kv.create_revision < r.min_create_revision);
    });
    SortOrder order = r.sort_order;
    if (r.sort_target != SortTarget::kKey && order == SortOrder::kNone) order = SortOrder::kAscend;
    auto key_of = [&](const KeyValue& kv) {
      switch (r.sort_target) {
        case SortTarget::kKey: return std::make_tuple(kv.key, int64_t{0});
        case SortTarget::kVersion: return std::make_tuple(std::string(), kv.version);
        case SortTarget::kCreate: return std::make_tuple(std::string(), kv.create_revision);
        case SortTarget::kMod: return std::make_tuple(std::string(), kv.mod_revision);
        case SortTarget::kValue: return std::make_tuple(kv.value, int64_t{0});
      }
      return std::make_tuple(std::string(), int64_t{0});
    };
    if (order != SortOrder::kNone) {
      std::stable_sort(kvs.begin(), kvs.end(), [&](const KeyValue& a, const KeyValue& b) {
        return order == SortOrder::kAscend ? key_of(a) < key_of(b) : key_of(b) < key_of(a);
      });
    }
    if (r.limit > 0 && kvs.size() > static_cast<size_t>(r.limit)) {
      kvs.resize(static_cast<size_t>(r.limit));
      resp.more = true;
    }
    if (r.keys_only) {
      for (auto& kv : kvs) kv.value.clear();
    }
    resp.kvs = std::move(kvs);
    return resp;
  }

  static PutResponse do_put(const PutRequest& r, KeySpace* space, int64_t rev) {
    PutResponse resp;
    auto it = space->find(r.key);
    KeyValue kv;
    kv.key = r.key;
    kv.mod_revision = rev;
    if (it != space->end()) {
      if (r.prev_kv) resp.prev_kv = it->second;
      kv.create_revision = it->second.create_revision;
      kv.version = it->second.version + 1;
    } else {
      kv.create_revision = rev;
      kv.version = 1;
    }
    kv.value = r.ignore_value ? it->second.value : r.value;
    kv.lease = r.ignore_lease ? it->second.lease : r.lease;
    (*space)[r.key] = kv;
    resp.header.revision = rev;
    return resp;
  }

  static DeleteRangeResponse do_del(const DeleteRangeRequest& r, KeySpace* space, int64_t begin) {
    DeleteRangeResponse resp;
    for (auto it = space->begin(); it != space->end();) {
      if (in_range(it->first, r.key, r.range_end)) {
        if (r.prev_kv) resp.prev_kvs.push_back(it->second);
        ++resp.deleted;
        it = space->erase(it);
      } else {
        ++it;
      }
    }
    resp.header.revision = begin;  // the caller raises it once the txn has changed anything
    return resp;
  }

  bool holds(const Compare& c, const KeySpace& space) const {
    std::vector<KeyValue> kvs;
    for (const auto& [k, kv] : space) {
      if (in_range(k, c.key, c.range_end)) kvs.push_back(kv);
    }
    if (kvs.empty()) {
      if (c.target == Compare::Target::kValue) return false;
      kvs.push_back(KeyValue{});
    }
    for (const auto& kv : kvs) {
      int r = 0;
      auto cmp = [](auto a, auto b) { return a < b ? -1 : (b < a ? 1 : 0); };
      switch (c.target) {
        case Compare::Target::kValue: r = cmp(kv.value, c.value); break;
        case Compare::Target::kVersion: r = cmp(kv.version, c.version); break;
        case Compare::Target::kCreate: r = cmp(kv.create_revision, c.create_revision); break;
        case Compare::Target::kMod: r = cmp(kv.mod_revision, c.mod_revision); break;
        case Compare::Target::kLease: r = cmp(kv.lease, c.lease); break;
      }
      bool ok = false;
      switch (c.result) {
        case Compare::Result::kEqual: ok = r == 0; break;
        case Compare::Result::kNotEqual: ok = r != 0; break;
        case Compare::Result::kLess: ok = r < 0; break;
        case Compare::Result::kGreater: ok = r > 0; break;
      }
      if (!ok) return false;
    }
    return true;
  }

  bool succeeded(const TxnRequest& t, const KeySpace& before) const {
    return std::all_of(t.compare.begin(), t.compare.end(),
                       [&](const Compare& c) { return holds(c, before); });
  }

  // etcd's checkRequests: every put of the path first, then every range (checkRequestRange:
  // below FirstRev, which is -1 until a compaction, is compacted).
  Status check(const TxnRequest& t, const KeySpace& before) const {
    KEEL_RETURN_IF_ERROR(check_pass(t, before, true));
    return check_pass(t, before, false);
  }

  Status check_pass(const TxnRequest& t, const KeySpace& before, bool puts) const {
    for (const auto& op : succeeded(t, before) ? t.success : t.failure) {
      if (const auto* p = std::get_if<PutRequest>(&op.request)) {
        if (puts && (p->ignore_value || p->ignore_lease) && !before.count(p->key)) return ErrKeyNotFound();
      } else if (const auto* r = std::get_if<RangeRequest>(&op.request)) {
        if (puts || r->revision == 0) continue;
        if (r->revision > rev_) return ErrFutureRev();
        if (r->revision < compacted_) return ErrCompacted();
      } else if (const auto* n = std::get_if<Box<TxnRequest>>(&op.request)) {
        KEEL_RETURN_IF_ERROR(check_pass(**n, before, puts));
      }
    }
    return Status::OK();
  }

  TxnResponse run(const TxnRequest& t, const KeySpace& before, KeySpace* work, bool* changed) const {
    TxnResponse resp;
    resp.succeeded = succeeded(t, before);
    for (const auto& op : resp.succeeded ? t.success : t.failure) {
      ResponseOp out;
      if (const auto* p = std::get_if<PutRequest>(&op.request)) {
        out.response = do_put(*p, work, rev_ + 1);
        *changed = true;
      } else if (const auto* d = std::get_if<DeleteRangeRequest>(&op.request)) {
        auto r = do_del(*d, work, rev_);
        if (r.deleted > 0) *changed = true;
        if (*changed) r.header.revision = rev_ + 1;
        out.response = std::move(r);
      } else if (const auto* g = std::get_if<RangeRequest>(&op.request)) {
        const int64_t read_rev = *changed ? rev_ + 1 : rev_;
        out.response = *range_in(*g, read_rev, work);
      } else if (const auto* n = std::get_if<Box<TxnRequest>>(&op.request)) {
        out.response = Box<TxnResponse>(run(**n, before, work, changed));
      }
      resp.responses.push_back(std::move(out));
    }
    return resp;
  }

  static void stamp(TxnResponse* t, int64_t rev) { t->header.revision = rev; }  // nested: 0

  // A read at the txn's own revision inside it must see the working copy: range_in does that when
  // r.revision <= 0; the states_ lookup covers reads of earlier revisions.
  void commit(KeySpace next) { states_[++rev_] = std::move(next); }

  std::map<int64_t, KeySpace> states_;
  int64_t rev_ = 1;
  int64_t compacted_ = -1;
};

std::string describe(const KeyValue& kv) {
  std::ostringstream o;
  o << "{" << kv.key << " c" << kv.create_revision << " m" << kv.mod_revision << " v" << kv.version
    << " =" << kv.value << " l" << kv.lease << "}";
  return o.str();
}

std::string describe(const RangeResponse& r) {
  std::ostringstream o;
  o << "rev " << r.header.revision << " count " << r.count << " more " << r.more << " [";
  for (const auto& kv : r.kvs) o << describe(kv) << " ";
  return o.str() + "]";
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}
  int64_t num(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool chance(int percent) { return num(1, 100) <= percent; }
  std::string key() {
    static const char* keys[] = {"a", "ab", "abc", "b", "ba", "c", "d", "e\xff", "f\0"};
    int i = static_cast<int>(num(0, 8));
    return i == 8 ? std::string("f\0", 2) : keys[i];
  }
  std::string end(const std::string& key) {
    switch (num(0, 4)) {
      case 0: return std::string(1, '\0');
      case 1: {
        std::string e = key;
        e.back() = static_cast<char>(e.back() + 1);
        return e;  // the prefix of key
      }
      case 2: return this->key();  // possibly before key: an empty range
      default: return "";
    }
  }
  std::string value() { return std::string(static_cast<size_t>(num(0, 3)), static_cast<char>('p' + num(0, 3))); }

  RangeRequest range(int64_t rev, int64_t compacted) {
    RangeRequest r;
    r.key = chance(10) ? std::string(1, '\0') : key();
    r.range_end = chance(10) ? std::string(1, '\0') : end(r.key);
    if (chance(30)) r.limit = num(0, 4);
    if (chance(40)) r.revision = num(std::max<int64_t>(-1, compacted - 2), rev + 1);
    if (chance(40)) r.sort_order = static_cast<SortOrder>(num(0, 2));
    if (chance(40)) r.sort_target = static_cast<SortTarget>(num(0, 4));
    r.keys_only = chance(15);
    r.count_only = chance(10);
    if (chance(15)) r.min_mod_revision = num(0, rev);
    if (chance(15)) r.max_mod_revision = num(0, rev);
    if (chance(15)) r.min_create_revision = num(0, rev);
    if (chance(15)) r.max_create_revision = num(0, rev);
    return r;
  }
  PutRequest put() {
    PutRequest p;
    p.key = key();
    p.prev_kv = chance(40);
    if (chance(15)) {
      p.ignore_value = true;
    } else {
      p.value = value();
    }
    if (chance(15)) {
      p.ignore_lease = true;
    } else if (chance(30)) {
      p.lease = num(1, 3);
    }
    if (chance(3)) p.key.clear();  // refused
    return p;
  }
  DeleteRangeRequest del() {
    DeleteRangeRequest d;
    d.key = key();
    d.range_end = end(d.key);
    d.prev_kv = chance(50);
    return d;
  }
  Compare compare(int64_t rev) {
    Compare c;
    c.key = key();
    if (chance(20)) c.range_end = end(c.key);
    c.target = static_cast<Compare::Target>(num(0, 4));
    c.result = static_cast<Compare::Result>(num(0, 3));
    c.version = num(0, 3);
    c.create_revision = num(0, rev);
    c.mod_revision = num(0, rev);
    c.value = value();
    c.lease = num(0, 3);
    return c;
  }
  TxnRequest txn(int64_t rev, int64_t compacted, int depth) {
    TxnRequest t;
    for (int64_t i = num(0, 2); i > 0; --i) t.compare.push_back(compare(rev));
    for (auto* branch : {&t.success, &t.failure}) {
      for (int64_t i = num(0, 3); i > 0; --i) {
        switch (num(0, depth > 0 ? 3 : 4)) {
          case 0: branch->push_back(RequestOp{put()}); break;
          case 1: branch->push_back(RequestOp{del()}); break;
          case 2: branch->push_back(RequestOp{range(rev, compacted)}); break;
          default:
            if (depth > 0) {
              branch->push_back(RequestOp{put()});
            } else {
              branch->push_back(RequestOp{Box<TxnRequest>(txn(rev, compacted, depth + 1))});
            }
        }
      }
    }
    return t;
  }

 private:
  std::mt19937_64 rng_;
};

class ModelTest : public StoreTest {};

TEST_P(ModelTest, RandomHistoriesMatchTheModel) {
  std::vector<uint64_t> seeds = {1, 2, 3};
  if (const char* s = std::getenv("KEEL_MVCC_SEED")) seeds = {std::strtoull(s, nullptr, 10)};
  const int steps = 1500;
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed) + "; replay: KEEL_MVCC_SEED=" + std::to_string(seed) +
                 " ./mvcc_test --gtest_filter='*ModelTest*" + GetParam() + "*'");
    Generator gen(seed);
    StoreOptions o;
    o.batch_limit = static_cast<size_t>(gen.num(1, 40));
    o.batch_interval = std::chrono::milliseconds(0);
    o.compaction_batch_limit = static_cast<size_t>(gen.num(1, 5));
    o.sync_commits = false;
    reopen(o);
    // A fresh data dir per seed: delete everything the previous seed left.
    close_all();
    std::filesystem::remove_all(dir_.path() + "/store");
    open_all();
    Model model;
    int read_txns = 0;
    uint64_t index = 0;
    int64_t compacted = -1;
    for (int step = 0; step < steps; ++step) {
      std::string what;
      std::vector<Event> events;
      const int64_t rev_before = model.rev();
      const int64_t op = gen.num(0, 99);
      if (op < 30) {
        auto p = gen.put();
        what = "put " + p.key;
        auto got = store().put(p, ++index, &events);
        auto want = model.put(p);
        ASSERT_EQ(got.status(), want.status()) << "step " << step << " " << what;
        if (want.ok()) {
          ASSERT_TRUE(*got == *want) << "step " << step << " " << what;
        }
      } else if (op < 42) {
        auto d = gen.del();
        what = "delete " + d.key;
        auto got = store().delete_range(d, ++index, &events);
        auto want = model.del(d);
        ASSERT_EQ(got.status(), want.status()) << "step " << step << " " << what;
        if (want.ok()) {
          ASSERT_TRUE(*got == *want) << "step " << step << " " << what;
        }
      } else if (op < 60) {
        auto t = gen.txn(model.rev(), compacted, 0);
        what = "txn";
        auto got = store().txn(t, ++index, &events);
        auto want = model.txn(t);
        ASSERT_EQ(got.status(), want.status()) << "step " << step << " " << what;
        if (want.ok()) {
          ASSERT_TRUE(*got == *want) << "step " << step << " " << what;
        }
        if (!txn_writes(t)) {
          // The same txn served as a read, off the applier, answers the same.
          auto read = store().read_txn(t);
          ASSERT_EQ(read.status(), want.status()) << "step " << step << " read_txn";
          if (want.ok()) {
            ASSERT_TRUE(*read == *want) << "step " << step << " read_txn";
          }
          ++read_txns;
        }
      } else if (op < 64) {
        const int64_t rev = gen.num(compacted - 1, model.rev() + 1);
        what = "compact " + std::to_string(rev);
        auto got = store().compact(rev, ++index);
        auto want = model.compact(rev);
        ASSERT_EQ(got.status(), want.status()) << "step " << step << " " << what;
        if (want.ok()) {
          compacted = rev;
          if (gen.chance(50)) {
            ASSERT_TRUE(store().wait_compaction().ok());
          }
        }
      } else if (op < 96) {
        auto r = gen.range(model.rev(), compacted);
        what = "range " + r.key;
        auto got = store().range(r);
        auto want = model.range(r);
        ASSERT_EQ(got.status(), want.status()) << "step " << step << " " << what;
        if (want.ok()) {
          ASSERT_TRUE(*got == *want) << "step " << step << " " << what << "\n got  " << describe(*got)
                                     << "\n want " << describe(*want);
        }
      } else if (op < 98) {
        ASSERT_TRUE(store().force_commit().ok());
      } else {
        // Close and reopen: the same revision, index, compaction point and HashKV.
        auto hash = store().hash_kv(0);
        ASSERT_TRUE(hash.ok()) << hash.status().to_string();
        reopen();
        ASSERT_EQ(store().consistent_index(), index);
        ASSERT_EQ(store().compacted_revision(), compacted);
        auto again = store().hash_kv(0);
        ASSERT_TRUE(again.ok()) << again.status().to_string();
        ASSERT_EQ(again->hash, hash->hash) << "step " << step;
      }
      // A write's events are its revision's changes: puts carry the new KeyValue, deletes the key
      // and the revision, each with the key as it was before the revision (prev_kv) where it
      // existed; and the store reads the same events back, without prev_kv.
      if (model.rev() != rev_before) {
        const KeySpace& before = model.at(rev_before);
        const KeySpace& after = model.at(model.rev());
        ASSERT_FALSE(events.empty()) << "step " << step;
        // etcd lets sibling nested txns put and then delete one key, so only a key's last event
        // must match the new state.
        std::map<std::string, const Event*> last;
        for (const auto& e : events) {
          ASSERT_EQ(e.kv.mod_revision, model.rev()) << "step " << step;
          if (before.count(e.kv.key)) {
            ASSERT_TRUE(e.prev_kv && *e.prev_kv == before.at(e.kv.key)) << "step " << step << " " << e.kv.key;
          } else {
            ASSERT_FALSE(e.prev_kv) << "step " << step << " " << e.kv.key;
          }
          last[e.kv.key] = &e;
        }
        for (const auto& [key, e] : last) {
          if (e->type == Event::Type::kPut) {
            ASSERT_TRUE(after.count(key) && after.at(key) == e->kv) << "step " << step;
          } else {
            ASSERT_FALSE(after.count(key)) << "step " << step;
          }
        }
        for (const auto& [key, kv] : after) {
          if (!before.count(key) || !(before.at(key) == kv)) {
            ASSERT_TRUE(last.count(key)) << "step " << step;
          }
        }
        for (const auto& [key, kv] : before) {
          if (!after.count(key)) {
            ASSERT_TRUE(last.count(key)) << "step " << step;
          }
        }
        auto stored = store().events(model.rev(), model.rev());
        ASSERT_TRUE(stored.ok()) << stored.status().to_string();
        std::vector<Event> without_prev = events;
        for (Event& e : without_prev) e.prev_kv.reset();
        ASSERT_TRUE(*stored == without_prev) << "step " << step;
      } else {
        ASSERT_TRUE(events.empty()) << "step " << step;
      }
      // After every operation: the whole key space agrees, and so does the revision.
      ASSERT_EQ(store().current_revision(), model.rev()) << "step " << step << " " << what;
      RangeRequest all;
      all.key = std::string(1, '\0');
      all.range_end = std::string(1, '\0');
      auto got = store().range(all);
      auto want = model.range(all);
      ASSERT_TRUE(got.ok()) << got.status().to_string();
      ASSERT_TRUE(*got == *want) << "step " << step << " after " << what << "\n got  "
                                 << describe(*got) << "\n want " << describe(*want);
    }
    ASSERT_TRUE(store().check_invariants().ok());
    EXPECT_GT(read_txns, 0) << "the generator made no read-only txn to serve as a read";
    reopen();
    RangeRequest all;
    all.key = std::string(1, '\0');
    all.range_end = std::string(1, '\0');
    ASSERT_TRUE(*store().range(all) == *model.range(all));
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelTest, ::testing::ValuesIn(backend_names()),
                         backend_param_name);

}  // namespace
}  // namespace keel::mvcc::testing
