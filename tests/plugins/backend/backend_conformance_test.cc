// The backend contract (keel/backend.h), checked against every backend plugin, each loaded
// through the plugin host as keeld loads it. The parameter is the plugin's name.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include "backend_test_util.h"

namespace keel::testing {
namespace {

using namespace std::string_literals;

#define ASSERT_OK(expr)                                  \
  do {                                                   \
    auto&& keel_s_ = (expr);                             \
    ASSERT_TRUE(keel_s_.ok()) << keel_s_.to_string();    \
  } while (0)
#define ASSERT_OK_R(expr)                                       \
  do {                                                          \
    auto&& keel_r_ = (expr);                                    \
    ASSERT_TRUE(keel_r_.ok()) << keel_r_.status().to_string();  \
  } while (0)

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto p = load_backend(GetParam());
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    plugin_ = std::move(*p);
    open();
  }
  void TearDown() override { store_.reset(); }

  void open(const std::string& dir = "") {
    store_.reset();
    BackendOptions o;
    o.dir = dir.empty() ? tmp_.sub("store") : dir;
    auto s = plugin_->open(o);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    store_ = std::move(*s);
  }

  Status put(const std::string& bucket, const std::string& key, const std::string& value,
             bool sync = false) {
    WriteBatch b;
    b.put(bucket, key, value);
    return store_->commit(b, sync);
  }

  // The value of key, or "<missing>".
  std::string get(const std::string& bucket, const std::string& key) {
    auto tx = store_->begin_read();
    if (!tx.ok()) return "<error " + tx.status().to_string() + ">";
    std::string v;
    Status s = (*tx)->get(bucket, key, &v);
    if (s.is_not_found()) return "<missing>";
    if (!s.ok()) return "<error " + s.to_string() + ">";
    return v;
  }

  // Keys of [begin, end) in order (end "" = to the last), at most `limit`, optionally reversed.
  std::vector<std::string> scan(const std::string& bucket, const std::string& begin,
                                const std::string& end, size_t limit = SIZE_MAX,
                                bool reverse = false) {
    std::vector<std::string> keys;
    auto tx = store_->begin_read();
    EXPECT_TRUE(tx.ok());
    auto c = (*tx)->cursor(bucket);
    EXPECT_TRUE(c.ok()) << c.status().to_string();
    if (!c.ok()) return keys;
    BackendCursor& cur = **c;
    if (!reverse) {
      for (cur.seek(begin); cur.valid() && keys.size() < limit; cur.next()) {
        if (!end.empty() && cur.key() >= end) break;
        keys.emplace_back(cur.key());
      }
    } else {
      if (end.empty()) {
        cur.seek_to_last();
      } else {
        cur.seek(end);
        if (cur.valid()) cur.prev();
        else cur.seek_to_last();
      }
      for (; cur.valid() && keys.size() < limit && cur.key() >= begin; cur.prev()) {
        keys.emplace_back(cur.key());
      }
    }
    EXPECT_TRUE(cur.status().ok()) << cur.status().to_string();
    return keys;
  }

  TempDir tmp_;
  std::unique_ptr<BackendPlugin> plugin_;
  std::unique_ptr<Backend> store_;
};

using Keys = std::vector<std::string>;

TEST_P(BackendTest, PutGetDeleteInSeveralBuckets) {
  ASSERT_OK(store_->create_bucket("key"));
  ASSERT_OK(store_->create_bucket("meta"));
  ASSERT_OK(store_->create_bucket("meta"));  // idempotent
  WriteBatch b;
  b.put("key", "a", "1");
  b.put("meta", "a", "2");
  b.put("key", "b", "3");
  ASSERT_OK(store_->commit(b, true));
  EXPECT_EQ(get("key", "a"), "1");
  EXPECT_EQ(get("meta", "a"), "2");
  EXPECT_EQ(get("meta", "b"), "<missing>");
  ASSERT_OK(put("key", "a", "overwritten"));
  EXPECT_EQ(get("key", "a"), "overwritten");
  b.clear();
  b.erase("key", "a");
  b.erase("key", "never-there");
  ASSERT_OK(store_->commit(b, false));
  EXPECT_EQ(get("key", "a"), "<missing>");
  EXPECT_EQ(get("meta", "a"), "2");
  auto tx = store_->begin_read();
  ASSERT_OK_R(tx);
  auto names = (*tx)->buckets();
  ASSERT_OK_R(names);
  EXPECT_EQ(*names, (Keys{"key", "meta"}));
}

TEST_P(BackendTest, RangeScans) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(store_->create_bucket("other"));
  WriteBatch w;
  for (const char* k : {"a", "b", "ba", "bb", "c", "d"}) w.put("b", k, std::string("v") + k);
  w.put("other", "bz", "x");
  ASSERT_OK(store_->commit(w, false));
  EXPECT_EQ(scan("b", "b", "c"), (Keys{"b", "ba", "bb"}));
  EXPECT_EQ(scan("b", "", ""), (Keys{"a", "b", "ba", "bb", "c", "d"}));
  EXPECT_EQ(scan("b", "bb", "bb\x00"s), (Keys{"bb"}));  // a single key
  EXPECT_EQ(scan("b", "a", "", 2), (Keys{"a", "b"}));  // limit
  EXPECT_EQ(scan("b", "b", "d", SIZE_MAX, true), (Keys{"c", "bb", "ba", "b"}));
  EXPECT_EQ(scan("b", "", "", 3, true), (Keys{"d", "c", "bb"}));
  EXPECT_EQ(scan("b", "e", ""), Keys{});
  EXPECT_EQ(scan("b", "bab", "bb"), Keys{});
  // Delete a range [ba, c): "c" stays.
  w.clear();
  w.erase_range("b", "ba", "c");
  ASSERT_OK(store_->commit(w, false));
  EXPECT_EQ(scan("b", "", ""), (Keys{"a", "b", "c", "d"}));
  EXPECT_EQ(scan("other", "", ""), (Keys{"bz"}));
  // A cursor walks both ways.
  auto tx = store_->begin_read();
  auto c = (*tx)->cursor("b");
  ASSERT_OK_R(c);
  (*c)->seek("bz");
  ASSERT_TRUE((*c)->valid());
  EXPECT_EQ((*c)->key(), "c");
  EXPECT_EQ((*c)->value(), "vc");
  (*c)->prev();
  EXPECT_EQ((*c)->key(), "b");
  (*c)->next();
  (*c)->next();
  EXPECT_EQ((*c)->key(), "d");
  (*c)->next();
  EXPECT_FALSE((*c)->valid());
  EXPECT_TRUE((*c)->status().ok());
}

TEST_P(BackendTest, EmptyValuesAndBinaryKeys) {
  ASSERT_OK(store_->create_bucket("b"));
  WriteBatch w;
  w.put("b", "empty", "");
  w.put("b", bytes({0x00}), "zero");
  w.put("b", bytes({0x00, 0x00}), "zerozero");
  w.put("b", bytes({0xFF}), "ff");
  w.put("b", bytes({0xFF, 0xFF, 0x00}), bytes({0x00, 0xFF}));
  w.put("b", bytes({0x7F}), "7f");
  w.put("b", bytes({0x80}), "80");
  ASSERT_OK(store_->commit(w, false));
  EXPECT_EQ(get("b", "empty"), "");
  EXPECT_EQ(get("b", bytes({0xFF, 0xFF, 0x00})), bytes({0x00, 0xFF}));
  EXPECT_EQ(scan("b", "", ""), (Keys{bytes({0x00}), bytes({0x00, 0x00}), "empty", bytes({0x7F}),
                                     bytes({0x80}), bytes({0xFF}), bytes({0xFF, 0xFF, 0x00})}));
}

TEST_P(BackendTest, LargeKeysAndValues) {
  ASSERT_OK(store_->create_bucket("b"));
  const size_t big = 1536 * 1024;
  std::string k1(big, 'k'), k2(big, 'k'), v1(big, '\x01'), v2(big, '\xFE');
  k2.back() = 'l';
  std::string prefix(510, 'k');  // a short key that prefixes both long ones
  WriteBatch w;
  w.put("b", k1, v1);
  w.put("b", k2, v2);
  w.put("b", prefix, "p");
  w.put("b", "kl", "after");
  ASSERT_OK(store_->commit(w, true));
  EXPECT_EQ(get("b", k1), v1);
  EXPECT_EQ(get("b", k2), v2);
  EXPECT_EQ(get("b", prefix), "p");
  EXPECT_EQ(get("b", std::string(big - 1, 'k')), "<missing>");
  EXPECT_EQ(scan("b", "", ""), (Keys{prefix, k1, k2, "kl"}));
  EXPECT_EQ(scan("b", "", "", SIZE_MAX, true), (Keys{"kl", k2, k1, prefix}));
  EXPECT_EQ(scan("b", k1.substr(0, 600), ""), (Keys{k1, k2, "kl"}));
  EXPECT_EQ(scan("b", k2, ""), (Keys{k2, "kl"}));
  w.clear();
  w.erase("b", k1);
  ASSERT_OK(store_->commit(w, false));
  EXPECT_EQ(scan("b", "", ""), (Keys{prefix, k2, "kl"}));
}

// Random batches against a std::map model, with key lengths around LMDB's 511-byte limit.
TEST_P(BackendTest, MatchesAModel) {
  ASSERT_OK(store_->create_bucket("b"));
  std::mt19937 rng(20261122);
  auto key = [&] {
    static const size_t lengths[] = {1, 2, 3, 8, 509, 510, 511, 512, 700};
    std::string k(lengths[rng() % 9], 'x');
    // Few distinct bytes, mostly at the ends, so keys share long prefixes.
    k.front() = static_cast<char>("ab\x00\xff"[rng() % 4]);
    k.back() = static_cast<char>("ab\x00\xff"[rng() % 4]);
    if (k.size() > 510) k[510] = static_cast<char>("ab"[rng() % 2]);
    return k;
  };
  std::map<std::string, std::string> model;
  for (int round = 0; round < 150; ++round) {
    WriteBatch w;
    for (int i = 0; i < 8; ++i) {
      int op = static_cast<int>(rng() % 10);
      if (op < 6) {
        std::string k = key(), v = std::to_string(rng());
        w.put("b", k, v);
        model[k] = v;
      } else if (op < 9) {
        std::string k = key();
        w.erase("b", k);
        model.erase(k);
      } else {
        std::string a = key(), z = key();
        if (z < a) std::swap(a, z);
        w.erase_range("b", a, z);
        model.erase(model.lower_bound(a), model.lower_bound(z));
      }
    }
    ASSERT_OK(store_->commit(w, false));
    Keys expect;
    for (const auto& [k, v] : model) expect.push_back(k);
    ASSERT_EQ(scan("b", "", ""), expect) << "round " << round;
    Keys reversed(expect.rbegin(), expect.rend());
    ASSERT_EQ(scan("b", "", "", SIZE_MAX, true), reversed) << "round " << round;
    std::string from = key();
    Keys tail(std::vector<std::string>(
        std::find_if(expect.begin(), expect.end(), [&](auto& k) { return k >= from; }),
        expect.end()));
    ASSERT_EQ(scan("b", from, ""), tail) << "round " << round;
  }
  for (const auto& [k, v] : model) ASSERT_EQ(get("b", k), v);
}

TEST_P(BackendTest, ReadTransactionSeesOneSnapshot) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "k", "old"));
  auto tx = store_->begin_read();
  ASSERT_OK_R(tx);
  WriteBatch w;
  w.put("b", "k", "new");
  w.put("b", "k2", "added");
  ASSERT_OK(store_->commit(w, false));
  ASSERT_OK(store_->create_bucket("later"));
  std::string v;
  ASSERT_OK((*tx)->get("b", "k", &v));
  EXPECT_EQ(v, "old");
  EXPECT_TRUE((*tx)->get("b", "k2", &v).is_not_found());
  EXPECT_TRUE((*tx)->cursor("later").status().is_not_found());
  auto c = (*tx)->cursor("b");
  ASSERT_OK_R(c);
  (*c)->seek_to_first();
  ASSERT_TRUE((*c)->valid());
  EXPECT_EQ((*c)->key(), "k");
  (*c)->next();
  EXPECT_FALSE((*c)->valid());
  c->reset();
  tx->reset();
  EXPECT_EQ(get("b", "k"), "new");
  EXPECT_EQ(get("b", "k2"), "added");
}

// Engines may keep ended read transactions for reuse (lmdb does): each new one still sees every
// commit and bucket made before it began, also across a defragment, which reopens the files.
TEST_P(BackendTest, EveryNewReadTransactionSeesTheLatestCommit) {
  ASSERT_OK(store_->create_bucket("b"));
  for (int round = 1; round <= 40; ++round) {
    WriteBatch w;
    w.put("b", "k", std::to_string(round));
    ASSERT_OK(store_->commit(w, false));
    if (round % 10 == 0) ASSERT_OK(store_->create_bucket("b" + std::to_string(round)));
    if (round % 20 == 0) ASSERT_OK(store_->defragment());
    // Two at once, so that more than one kept transaction is reused.
    auto first = store_->begin_read();
    auto second = store_->begin_read();
    ASSERT_OK_R(first);
    ASSERT_OK_R(second);
    for (auto* tx : {&*first, &*second}) {
      std::string v;
      ASSERT_OK((*tx)->get("b", "k", &v));
      EXPECT_EQ(v, std::to_string(round)) << "round " << round;
      auto buckets = (*tx)->buckets();
      ASSERT_OK_R(buckets);
      EXPECT_EQ(buckets->size(), 1u + static_cast<size_t>(round / 10)) << "round " << round;
    }
  }
}

// Readers on many threads check that each batch is seen whole: every batch writes the same
// round number under "a" and "b".
TEST_P(BackendTest, ManyReadersOneWriter) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "a", "0"));
  ASSERT_OK(put("b", "b", "0"));
  std::atomic<bool> done{false};
  std::atomic<int> checks{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&] {
      while (!done.load()) {
        auto tx = store_->begin_read();
        if (!tx.ok()) {
          ++failures;
          continue;
        }
        std::string a, b;
        if (!(*tx)->get("b", "a", &a).ok()) ++failures;
        std::this_thread::yield();
        if (!(*tx)->get("b", "b", &b).ok()) ++failures;
        if (a != b) ++failures;
        ++checks;
      }
    });
  }
  // At least 300 rounds, and on until the readers have checked a good many snapshots.
  for (int round = 1; round <= 300 || (checks.load() < 200 && round < 100000); ++round) {
    WriteBatch w;
    w.put("b", "a", std::to_string(round));
    w.put("b", "filler" + std::to_string(round), std::string(1000, 'f'));
    w.put("b", "b", std::to_string(round));
    ASSERT_OK(store_->commit(w, false));
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(checks.load(), 200);
}

// A read transaction may move between threads: made on one, used and ended on another.
TEST_P(BackendTest, ReadTransactionMovesBetweenThreads) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "k", "v1"));
  auto tx = store_->begin_read();
  ASSERT_OK_R(tx);
  std::unique_ptr<BackendReadTx> moved = std::move(*tx);
  ASSERT_OK(put("b", "k", "v2"));
  std::string seen;
  std::thread other([&] {
    std::string v;
    if ((*moved).get("b", "k", &v).ok()) seen = v;
    moved.reset();
  });
  other.join();
  EXPECT_EQ(seen, "v1");
  // With it ended on the other thread, exclusive work (defragment) goes ahead here.
  ASSERT_OK(store_->defragment());
  EXPECT_EQ(get("b", "k"), "v2");
}

TEST_P(BackendTest, BatchIsAllOrNothing) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "keep", "1"));
  WriteBatch w;
  w.put("b", "new", "x");
  w.erase("b", "keep");
  w.put("no-such-bucket", "k", "v");
  EXPECT_TRUE(store_->commit(w, true).is_not_found());
  EXPECT_EQ(get("b", "keep"), "1");
  EXPECT_EQ(get("b", "new"), "<missing>");
  auto tx = store_->begin_read();
  auto names = (*tx)->buckets();
  ASSERT_OK_R(names);
  EXPECT_EQ(*names, Keys{"b"});
}

TEST_P(BackendTest, SyncedCommitSurvivesReopen) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "durable", "yes", true));
  ASSERT_OK(store_->close());
  open();
  EXPECT_EQ(get("b", "durable"), "yes");
  ASSERT_OK(put("b", "second", "2", true));
  store_.reset();  // the destructor closes
  open();
  EXPECT_EQ(get("b", "second"), "2");
}

TEST_P(BackendTest, StatsReportSizes) {
  ASSERT_OK(store_->create_bucket("b"));
  auto before = store_->stats();
  ASSERT_OK_R(before);
  WriteBatch w;
  for (int i = 0; i < 2000; ++i) w.put("b", "key" + std::to_string(i), std::string(1000, 'v'));
  ASSERT_OK(store_->commit(w, true));
  auto after = store_->stats();
  ASSERT_OK_R(after);
  EXPECT_GT(after->size_bytes, 0u);
  EXPECT_LE(after->size_in_use_bytes, after->size_bytes);
  EXPECT_GT(after->size_in_use_bytes, before->size_in_use_bytes);
  EXPECT_GE(after->size_in_use_bytes, 1'000'000u);
}

TEST_P(BackendTest, DefragmentGivesBackSpace) {
  ASSERT_OK(store_->create_bucket("b"));
  std::string value(4000, 'v');
  auto name = [](int i) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "key%05d", i);
    return std::string(buf);
  };
  for (int batch = 0; batch < 10; ++batch) {
    WriteBatch w;
    for (int i = 0; i < 500; ++i) w.put("b", name(batch * 1000 + i), value);
    ASSERT_OK(store_->commit(w, false));
  }
  WriteBatch d;
  d.erase_range("b", "key", "key09");  // all but key09xxx
  ASSERT_OK(store_->commit(d, true));
  auto tx = store_->begin_read();
  auto c = (*tx)->cursor("b");
  size_t left = 0;
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) ++left;
  EXPECT_EQ(left, 500u);
  c->reset();
  tx->reset();
  uint64_t before = file_tree_size(tmp_.sub("store"));
  ASSERT_OK(store_->defragment());
  uint64_t after = file_tree_size(tmp_.sub("store"));
  EXPECT_LT(after * 2, before) << "before " << before << " after " << after;
  EXPECT_EQ(get("b", name(9000)), value);
  EXPECT_EQ(get("b", name(1000)), "<missing>");
  ASSERT_OK(put("b", "after-defrag", "ok", true));
  EXPECT_EQ(get("b", "after-defrag"), "ok");
  ASSERT_OK(store_->close());
  open();
  EXPECT_EQ(get("b", "after-defrag"), "ok");
  EXPECT_EQ(scan("b", "key09", "key1").size(), 500u);
}

TEST_P(BackendTest, CopyRestoresIdenticalContent) {
  for (const char* b : {"key", "lease", "meta"}) ASSERT_OK(store_->create_bucket(b));
  WriteBatch w;
  for (int i = 0; i < 500; ++i) {
    w.put("key", "k" + std::to_string(i), std::string(static_cast<size_t>(i), 'x'));
    w.put("lease", bytes({0, i % 256, 255}), "l" + std::to_string(i));
  }
  w.put("meta", std::string(2000, 'm'), "long key");
  w.put("meta", "empty", "");
  ASSERT_OK(store_->commit(w, true));
  StringSink sink;
  ASSERT_OK(store_->copy_to(sink));
  BackendOptions o;
  o.dir = tmp_.sub("restored");
  StringSource source(sink.data(), 7777);
  ASSERT_OK(plugin_->restore(o, source));
  auto restored = plugin_->open(o);
  ASSERT_OK_R(restored);
  auto want = read_all(*store_);
  auto got = read_all(**restored);
  ASSERT_OK_R(want);
  ASSERT_OK_R(got);
  EXPECT_EQ(want->size(), 3u);
  EXPECT_TRUE(*want == *got);
  // Restoring over a store, or from a damaged copy, is refused.
  StringSource again(sink.data());
  EXPECT_FALSE(plugin_->restore(o, again).ok());
  std::string damaged = sink.data();
  damaged[damaged.size() / 2] ^= 0x55;
  StringSource bad(damaged);
  o.dir = tmp_.sub("damaged");
  EXPECT_TRUE(plugin_->restore(o, bad).is_corruption());
  StringSource truncated(sink.data().substr(0, sink.data().size() / 2));
  o.dir = tmp_.sub("truncated");
  EXPECT_TRUE(plugin_->restore(o, truncated).is_corruption());
  StringSource garbage("this is not a copy of any store at all");
  o.dir = tmp_.sub("garbage");
  EXPECT_TRUE(plugin_->restore(o, garbage).is_corruption());
}

// A sink that lets the writer run between chunks.
class SlowSink : public ByteSink {
 public:
  Status write(std::string_view data) override {
    data_.append(data);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return Status::OK();
  }
  std::string data_;
};

// A sink that fails part way: copy_to returns its error, and the store goes on.
class FailingSink : public ByteSink {
 public:
  Status write(std::string_view data) override {
    if (taken_ > 100000) return Status::IOError("the receiver went away");
    taken_ += data.size();
    return Status::OK();
  }

 private:
  size_t taken_ = 0;
};

TEST_P(BackendTest, CopyToAFailingSinkFails) {
  ASSERT_OK(store_->create_bucket("b"));
  WriteBatch w;
  for (int i = 0; i < 3000; ++i) w.put("b", "k" + std::to_string(i), std::string(1000, 'x'));
  ASSERT_OK(store_->commit(w, false));
  FailingSink sink;
  EXPECT_TRUE(store_->copy_to(sink).is_io_error());
  ASSERT_OK(put("b", "after", "1"));
  EXPECT_EQ(get("b", "after"), "1");
}

TEST_P(BackendTest, CopyIsConsistentWhileWritesGoOn) {
  ASSERT_OK(store_->create_bucket("b"));
  WriteBatch w;
  for (int i = 0; i < 3000; ++i) w.put("b", "k" + std::to_string(i), std::string(1000, '0'));
  w.put("b", "round", "0");
  ASSERT_OK(store_->commit(w, false));
  std::atomic<bool> done{false};
  std::atomic<int> rounds{0};
  std::thread writer([&] {
    // Each round rewrites every key with the round's digit: a consistent copy has one digit.
    for (int round = 1; !done.load() && round < 1000; ++round) {
      WriteBatch b;
      char digit = static_cast<char>('0' + round % 10);
      for (int i = 0; i < 3000; i += 7) b.put("b", "k" + std::to_string(i), std::string(1000, digit));
      b.put("b", "round", std::to_string(round));
      if (!store_->commit(b, false).ok()) break;
      ++rounds;
    }
  });
  while (rounds.load() < 5) std::this_thread::yield();
  SlowSink sink;
  Status s = store_->copy_to(sink);
  done = true;
  writer.join();
  ASSERT_OK(s);
  BackendOptions o;
  o.dir = tmp_.sub("copy");
  StringSource source(sink.data_);
  ASSERT_OK(plugin_->restore(o, source));
  auto copy = plugin_->open(o);
  ASSERT_OK_R(copy);
  auto content = read_all(**copy);
  ASSERT_OK_R(content);
  auto& b = (*content)["b"];
  int round = std::stoi(b["round"]);
  char digit = static_cast<char>('0' + round % 10);
  for (int i = 0; i < 3000; i += 7) {
    ASSERT_EQ(b["k" + std::to_string(i)], std::string(1000, digit)) << "key " << i;
  }
  std::cerr << "copy taken at round " << round << " of " << rounds.load() << "\n";
}

// Readers and a writer keep going while the store defragments; every read sees whole batches.
TEST_P(BackendTest, DefragmentWhileReadingAndWriting) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "a", "0"));
  ASSERT_OK(put("b", "b", "0"));
  std::atomic<bool> done{false};
  std::atomic<int> failures{0}, writes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (!done.load()) {
        auto tx = store_->begin_read();
        std::string a, b;
        if (!tx.ok() || !(*tx)->get("b", "a", &a).ok() || !(*tx)->get("b", "b", &b).ok() || a != b) {
          ++failures;
        }
      }
    });
  }
  threads.emplace_back([&] {
    for (int round = 1; !done.load(); ++round) {
      WriteBatch w;
      w.put("b", "a", std::to_string(round));
      w.put("b", "junk" + std::to_string(round % 50), std::string(10000, 'j'));
      w.put("b", "b", std::to_string(round));
      if (!store_->commit(w, false).ok()) ++failures;
      ++writes;
    }
  });
  for (int i = 0; i < 3; ++i) {
    while (writes.load() < 20 * (i + 1)) std::this_thread::yield();
    ASSERT_OK(store_->defragment());
  }
  done = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(get("b", "a"), get("b", "b"));
}

TEST_P(BackendTest, RefusesAnEmptyKeyWritingNothing) {
  ASSERT_OK(store_->create_bucket("b"));
  WriteBatch w;
  w.put("b", "fine", "1");
  w.put("b", "", "empty key");
  EXPECT_TRUE(store_->commit(w, false).is_invalid_argument());
  EXPECT_EQ(get("b", "fine"), "<missing>");
  EXPECT_EQ(get("b", ""), "<missing>");
  EXPECT_TRUE(store_->create_bucket("").is_invalid_argument());
}

// A full disk (here: a file size limit, so no privileges are needed) fails commit with IOError,
// after which the store takes no more writes; what committed before is intact after reopening.
TEST_P(BackendTest, FullDiskIsAnIOErrorAndStopsWrites) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "before", "1", true));
  store_.reset();  // the child opens the store itself: an engine is never used across fork
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // The child: no gtest here, only exit codes.
    ::close(out[0]);
    BackendOptions o;
    o.dir = tmp_.sub("store");
    auto reopened = plugin_->open(o);
    if (!reopened.ok()) ::_exit(9);
    store_ = std::move(*reopened);
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit{8u << 20, 8u << 20};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    int ok = 0;
    Status s;
    for (; ok < 100; ++ok) {
      WriteBatch w;
      w.put("b", "k" + std::to_string(ok), std::string(1 << 20, 'x'));
      s = store_->commit(w, true);
      if (!s.ok()) break;
    }
    if (!s.is_io_error()) ::_exit(11);
    if (::write(out[1], &ok, sizeof(ok)) != sizeof(ok)) ::_exit(12);
    if (!put("b", "after", "small", true).is_io_error()) ::_exit(13);
    if (get("b", "before") != "1") ::_exit(14);
    ::_exit(0);
  }
  ::close(out[1]);
  int ok = -1;
  ASSERT_EQ(::read(out[0], &ok, sizeof(ok)), static_cast<ssize_t>(sizeof(ok)));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "the child failed at step " << WEXITSTATUS(status);
  EXPECT_GT(ok, 0);
  open();
  EXPECT_EQ(get("b", "before"), "1");
  for (int i = 0; i < ok; ++i) {
    EXPECT_EQ(get("b", "k" + std::to_string(i)).size(), 1u << 20) << "batch " << i;
  }
  EXPECT_EQ(get("b", "after"), "<missing>");
}

TEST_P(BackendTest, UnknownBucketIsNotFound) {
  auto tx = store_->begin_read();
  std::string v;
  EXPECT_TRUE((*tx)->get("nope", "k", &v).is_not_found());
  EXPECT_TRUE((*tx)->cursor("nope").status().is_not_found());
  tx->reset();
  EXPECT_TRUE(put("nope", "k", "v").is_not_found());
}

TEST_P(BackendTest, UseAfterCloseFails) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(store_->close());
  EXPECT_TRUE(store_->begin_read().status().is_failed_precondition());
  EXPECT_TRUE(put("b", "k", "v").is_failed_precondition());
  EXPECT_TRUE(store_->create_bucket("c").is_failed_precondition());
  EXPECT_TRUE(store_->stats().status().is_failed_precondition());
  EXPECT_TRUE(store_->defragment().is_failed_precondition());
  StringSink sink;
  EXPECT_TRUE(store_->copy_to(sink).is_failed_precondition());
  EXPECT_TRUE(store_->close().is_failed_precondition());
}

TEST_P(BackendTest, RefusesAnotherEnginesDataDir) {
  store_.reset();
  std::string dir = tmp_.sub("store");
  {
    std::ofstream marker(dir + "/keel-backend", std::ios::trunc);
    marker << "engine=rocksdb\nformat=1\n";
  }
  BackendOptions o;
  o.dir = dir;
  auto s = plugin_->open(o);
  ASSERT_TRUE(s.status().is_failed_precondition()) << s.status().to_string();
  EXPECT_NE(s.status().message().find("rocksdb"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find(GetParam()), std::string::npos) << s.status().message();
}

TEST_P(BackendTest, RefusesANewerFormat) {
  store_.reset();
  std::string dir = tmp_.sub("store");
  {
    std::ofstream marker(dir + "/keel-backend", std::ios::trunc);
    marker << "engine=" << GetParam() << "\nformat=99\n";
  }
  BackendOptions o;
  o.dir = dir;
  EXPECT_TRUE(plugin_->open(o).status().is_failed_precondition());
}

TEST_P(BackendTest, RefusesADirWithoutMarker) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "k", "v", true));
  store_.reset();
  std::string dir = tmp_.sub("store");
  ASSERT_EQ(std::remove((dir + "/keel-backend").c_str()), 0);
  BackendOptions o;
  o.dir = dir;
  EXPECT_TRUE(plugin_->open(o).status().is_corruption());
  // A dir of someone else's files is no store either.
  std::string other = tmp_.sub("other");
  std::filesystem::create_directories(other);
  std::ofstream(other + "/notes.txt") << "hello";
  o.dir = other;
  EXPECT_TRUE(plugin_->open(o).status().is_corruption());
  // And an empty dir with create_if_missing=false holds no store.
  o.dir = tmp_.sub("empty");
  o.create_if_missing = false;
  EXPECT_TRUE(plugin_->open(o).status().is_not_found());
}

// A crash while a store was being made leaves a "creating" marker: that dir holds no store, and
// the next open (or restore) makes it again from nothing.
TEST_P(BackendTest, AHalfMadeStoreStartsOver) {
  store_.reset();
  std::string dir = tmp_.sub("half");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/keel-backend") << "engine=" << GetParam() << "\nformat=1\nstate=creating\n";
  std::ofstream(dir + "/leftover") << "partial engine file";
  BackendOptions o;
  o.dir = dir;
  o.create_if_missing = false;
  EXPECT_TRUE(plugin_->open(o).status().is_not_found());
  o.create_if_missing = true;
  auto made = plugin_->open(o);
  ASSERT_OK_R(made);
  EXPECT_FALSE(std::filesystem::exists(dir + "/leftover"));
  ASSERT_OK((*made)->create_bucket("b"));
  made->reset();
  o.create_if_missing = false;
  EXPECT_TRUE(plugin_->open(o).ok());
  // Only the first marker's temporary: a crash before anything else was written.
  std::string early = tmp_.sub("early");
  std::filesystem::create_directories(early);
  std::ofstream(early + "/keel-backend.tmp") << "engine=";
  o.dir = early;
  o.create_if_missing = true;
  EXPECT_TRUE(plugin_->open(o).ok());
  // A restore clears a half-made store too.
  std::string again = tmp_.sub("again");
  std::filesystem::create_directories(again);
  std::ofstream(again + "/keel-backend") << "engine=" << GetParam() << "\nformat=1\nstate=creating\n";
  std::ofstream(again + "/leftover") << "x";
  open();
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "k", "v", true));
  StringSink sink;
  ASSERT_OK(store_->copy_to(sink));
  StringSource source(sink.data());
  o.dir = again;
  ASSERT_OK(plugin_->restore(o, source));
  auto restored = plugin_->open(o);
  ASSERT_OK_R(restored);
  auto content = read_all(**restored);
  ASSERT_OK_R(content);
  EXPECT_EQ((*content)["b"]["k"], "v");
}

TEST_P(BackendTest, RefusesCorruptFiles) {
  ASSERT_OK(store_->create_bucket("b"));
  ASSERT_OK(put("b", "k", "v", true));
  store_.reset();
  std::string dir = tmp_.sub("store");
  // Overwrite the start of every engine file with garbage (the marker stays).
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename();
    if (name == "keel-backend" || name == "lock.mdb" || name == "LOCK" || !e.is_regular_file()) {
      continue;
    }
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(std::min<uint64_t>(e.file_size(), 8192), '\x5A');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  BackendOptions o;
  o.dir = dir;
  auto s = plugin_->open(o);
  EXPECT_TRUE(s.status().is_corruption()) << s.status().to_string();
}

TEST_P(BackendTest, RefusesASecondOpenOfTheSameDir) {
  BackendOptions o;
  o.dir = tmp_.sub("store");
  EXPECT_TRUE(plugin_->open(o).status().is_failed_precondition());
}

TEST_P(BackendTest, RefusesUnknownSettings) {
  auto p = load_backend(GetParam(), {{"no_such_setting", "1"}});
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().is_invalid_argument());
  EXPECT_NE(p.status().message().find("no_such_setting"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Plugins, BackendTest, ::testing::Values("lmdb", "leveldb"),
                         [](const auto& info) { return info.param; });

// LMDB's map starts small here and must grow by itself, also while a reader is open.
TEST(LmdbBackendTest, MapGrowsByItself) {
  auto p = load_backend("lmdb", {{"map_size", "1MiB"}, {"max_dbs", "4"}, {"max_readers", "16"}});
  ASSERT_OK_R(p);
  TempDir tmp;
  BackendOptions o;
  o.dir = tmp.sub("store");
  auto store = (*p)->open(o);
  ASSERT_OK_R(store);
  ASSERT_OK((*store)->create_bucket("b"));
  std::atomic<bool> reading{false};
  std::thread reader([&] {
    auto tx = (*store)->begin_read();
    reading = true;
    // Held a while (not a synchronisation): the writes below outgrow the map meanwhile.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  while (!reading.load()) std::this_thread::yield();
  for (int i = 0; i < 40; ++i) {
    WriteBatch w;
    w.put("b", "k" + std::to_string(i), std::string(512 * 1024, 'x'));
    ASSERT_OK((*store)->commit(w, false));
  }
  reader.join();
  auto tx = (*store)->begin_read();
  std::string v;
  ASSERT_OK((*tx)->get("b", "k39", &v));
  EXPECT_EQ(v.size(), 512u * 1024);
}

// The map must grow while another thread holds a read transaction and wants to commit too:
// the grower lets that thread's commit through instead of deadlocking.
TEST(LmdbBackendTest, MapGrowsPastAReaderThatCommits) {
  auto p = load_backend("lmdb", {{"map_size", "1MiB"}});
  ASSERT_OK_R(p);
  TempDir tmp;
  BackendOptions o;
  o.dir = tmp.sub("store");
  auto store = (*p)->open(o);
  ASSERT_OK_R(store);
  ASSERT_OK((*store)->create_bucket("b"));
  std::atomic<bool> reading{false};
  Status reader_commit;
  std::thread reader([&] {
    auto tx = (*store)->begin_read();
    reading = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    WriteBatch w;
    w.put("b", "from-reader", "x");
    reader_commit = (*store)->commit(w, false);
  });
  while (!reading.load()) std::this_thread::yield();
  for (int i = 0; i < 8; ++i) {
    WriteBatch w;
    w.put("b", "k" + std::to_string(i), std::string(512 * 1024, 'x'));
    ASSERT_OK((*store)->commit(w, false));
  }
  reader.join();
  // The reader's own commit needed no growth, or was told it cannot wait for itself.
  EXPECT_TRUE(reader_commit.ok() || reader_commit.is_failed_precondition())
      << reader_commit.to_string();
}

TEST(LmdbBackendTest, ReaderSlotsRunOutAndComeBack) {
  auto p = load_backend("lmdb", {{"max_readers", "3"}});
  ASSERT_OK_R(p);
  TempDir tmp;
  BackendOptions o;
  o.dir = tmp.sub("store");
  auto store = (*p)->open(o);
  ASSERT_OK_R(store);
  std::vector<std::unique_ptr<BackendReadTx>> txs;
  for (int i = 0; i < 3; ++i) {
    auto tx = (*store)->begin_read();
    ASSERT_OK_R(tx);
    txs.push_back(std::move(*tx));
  }
  auto extra = (*store)->begin_read();
  EXPECT_EQ(extra.status().code(), Status::Code::kResourceExhausted) << extra.status().to_string();
  txs.pop_back();
  EXPECT_TRUE((*store)->begin_read().ok());
}

// One engine's copy is no other engine's: restore refuses it and leaves no store behind.
TEST(CrossEngineTest, RestoreRefusesAnotherEnginesCopy) {
  const char* names[] = {"lmdb", "leveldb"};
  for (int from = 0; from < 2; ++from) {
    auto source = load_backend(names[from]);
    auto target = load_backend(names[1 - from]);
    ASSERT_OK_R(source);
    ASSERT_OK_R(target);
    TempDir tmp;
    BackendOptions o;
    o.dir = tmp.sub("source");
    auto store = (*source)->open(o);
    ASSERT_OK_R(store);
    ASSERT_OK((*store)->create_bucket("b"));
    StringSink sink;
    ASSERT_OK((*store)->copy_to(sink));
    StringSource copy(sink.data());
    o.dir = tmp.sub("target");
    EXPECT_TRUE((*target)->restore(o, copy).is_corruption()) << names[from];
    o.create_if_missing = false;
    EXPECT_FALSE((*target)->open(o).ok());
    // And each engine refuses the other's data dir by name.
    o.dir = tmp.sub("source");
    store->reset();
    auto other = (*target)->open(o);
    EXPECT_TRUE(other.status().is_failed_precondition()) << other.status().to_string();
    EXPECT_NE(other.status().message().find(names[from]), std::string::npos);
  }
}

TEST(LmdbBackendTest, BucketsBeyondMaxDbsAreResourceExhausted) {
  auto p = load_backend("lmdb", {{"max_dbs", "2"}});
  ASSERT_OK_R(p);
  TempDir tmp;
  BackendOptions o;
  o.dir = tmp.sub("store");
  auto store = (*p)->open(o);
  ASSERT_OK_R(store);
  ASSERT_OK((*store)->create_bucket("one"));
  ASSERT_OK((*store)->create_bucket("two"));
  Status third = (*store)->create_bucket("three");
  EXPECT_EQ(third.code(), Status::Code::kResourceExhausted) << third.to_string();
  ASSERT_OK((*store)->create_bucket("two"));  // an existing one is still fine
  auto tx = (*store)->begin_read();
  auto names = (*tx)->buckets();
  ASSERT_OK_R(names);
  EXPECT_EQ(*names, (std::vector<std::string>{"one", "two"}));
}

TEST(LmdbBackendTest, RefusesBadSettings) {
  EXPECT_TRUE(load_backend("lmdb", {{"map_size", "lots"}}).status().is_invalid_argument());
  EXPECT_TRUE(load_backend("lmdb", {{"max_dbs", "0"}}).status().is_invalid_argument());
}

TEST(LeveldbBackendTest, RefusesBadSettings) {
  EXPECT_TRUE(load_backend("leveldb", {{"compression", "zstd"}}).status().is_invalid_argument());
  EXPECT_TRUE(load_backend("leveldb", {{"block_size", "1"}}).status().is_invalid_argument());
  EXPECT_TRUE(load_backend("leveldb", {{"cache_size", "big"}}).status().is_invalid_argument());
}

// Small memtables and no compression: data goes through table files and compactions.
TEST(LeveldbBackendTest, WorksThroughTableFiles) {
  auto p = load_backend("leveldb", {{"cache_size", "1MiB"},
                                    {"block_size", "4KiB"},
                                    {"write_buffer_size", "64KiB"},
                                    {"compression", "none"}});
  ASSERT_OK_R(p);
  TempDir tmp;
  BackendOptions o;
  o.dir = tmp.sub("store");
  auto store = (*p)->open(o);
  ASSERT_OK_R(store);
  ASSERT_OK((*store)->create_bucket("b"));
  for (int i = 0; i < 50; ++i) {
    WriteBatch w;
    for (int j = 0; j < 20; ++j) w.put("b", "k" + std::to_string(i * 100 + j), std::string(500, 'v'));
    ASSERT_OK((*store)->commit(w, false));
  }
  ASSERT_OK((*store)->defragment());
  auto content = read_all(**store);
  ASSERT_OK_R(content);
  EXPECT_EQ((*content)["b"].size(), 1000u);
}

}  // namespace
}  // namespace keel::testing
