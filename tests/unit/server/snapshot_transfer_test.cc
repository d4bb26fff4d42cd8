// Snapshot transfer over the real backend plugins: a store streamed from one engine is built
// again by the other (a cluster may mix them), byte for byte; a stream that is damaged, cut
// short or followed by anything is refused with nothing left behind; received stores are
// installed in place of the member's store and cleaned up by index.
#include "server/snapshot_transfer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "mvcc_test_util.h"

namespace keel::server {
namespace {

using Contents = std::map<std::string, std::map<std::string, std::string>>;

class StringSink : public ByteSink {
 public:
  Status write(std::string_view data) override {
    bytes.append(data);
    return Status::OK();
  }
  std::string bytes;
};

// Hands out its bytes a few at a time, as a network would.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t take = std::min({n, bytes_.size() - at_, size_t{7777}});
    std::copy_n(bytes_.data() + at_, take, buf);
    at_ += take;
    return take;
  }

 private:
  std::string bytes_;
  size_t at_ = 0;
};

Result<std::string> read_all(ByteSource& in) {
  std::string out;
  char buf[4096];
  for (;;) {
    Result<size_t> n = in.read(buf, sizeof(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

Contents contents_of(Backend& store) {
  Contents out;
  auto tx = store.begin_read();
  EXPECT_TRUE(tx.ok());
  Result<std::vector<std::string>> buckets = (*tx)->buckets();
  EXPECT_TRUE(buckets.ok());
  for (const std::string& bucket : *buckets) {
    auto& pairs = out[bucket];
    auto c = std::move((*tx)->cursor(bucket)).value();
    for (c->seek_to_first(); c->valid(); c->next()) pairs[std::string(c->key())] = std::string(c->value());
  }
  return out;
}

class SnapshotTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"lmdb", "leveldb"}) {
      auto p = mvcc::testing::load_backend(name);
      ASSERT_TRUE(p.ok()) << p.status().to_string();
      engines_[name] = std::move(p).value();
    }
    snap_dir_ = tmp_.path() + "/snap";
    std::filesystem::create_directories(snap_dir_);
  }

  std::unique_ptr<Backend> open(const std::string& engine, const std::string& dir) {
    BackendOptions o;
    o.dir = dir;
    auto b = engines_.at(engine)->open(o);
    EXPECT_TRUE(b.ok()) << b.status().to_string();
    return b.ok() ? std::move(b).value() : nullptr;
  }

  // A store with the awkward cases: binary keys and values, an empty value, a large value, an
  // empty bucket.
  Contents fill(Backend& store) {
    Contents want;
    WriteBatch batch;
    for (const std::string bucket : {"key", "meta", "lease", "empty"}) {
      EXPECT_TRUE(store.create_bucket(bucket).ok());
      want[bucket];
    }
    for (int i = 0; i < 3000; ++i) {
      std::string k = "k" + std::to_string(i) + std::string(1, '\0') + "\xff";
      batch.put("key", k, std::string(static_cast<size_t>(i % 50), static_cast<char>(i)));
      want["key"][k] = std::string(static_cast<size_t>(i % 50), static_cast<char>(i));
    }
    batch.put("meta", "big", std::string(1 << 20, 'b'));
    want["meta"]["big"] = std::string(1 << 20, 'b');
    batch.put("lease", std::string(1, '\0'), "");
    want["lease"][std::string(1, '\0')] = "";
    Status committed = store.commit(batch, true);
    EXPECT_TRUE(committed.ok()) << committed.to_string();
    return want;
  }

  std::string stream_of(const std::string& engine) {
    auto store = open(engine, tmp_.path() + "/source-" + engine);
    want_ = fill(*store);
    StringSink sink;
    EXPECT_TRUE(write_store_stream(*store, sink).ok());
    return sink.bytes;
  }

  mvcc::testing::TempDir tmp_;
  std::string snap_dir_;
  std::map<std::string, std::unique_ptr<BackendPlugin>> engines_;
  Contents want_;
};

TEST_F(SnapshotTransferTest, AStoreCrossesFromEitherEngineToEither) {
  for (const std::string from : {"lmdb", "leveldb"}) {
    const std::string stream = stream_of(from);
    for (const std::string to : {"lmdb", "leveldb"}) {
      SCOPED_TRACE(from + " -> " + to);
      StringSource in(stream);
      ASSERT_TRUE(receive_backend(*engines_.at(to), snap_dir_, 42, in).ok());
      const std::string dir = received_backend_dir(snap_dir_, 42);
      EXPECT_EQ(std::filesystem::path(dir).filename(), "000000000000002a.db");
      auto store = open(to, dir);
      EXPECT_TRUE(contents_of(*store) == want_);  // (a diff of a MiB value helps nobody)
      store.reset();
      ASSERT_TRUE(remove_received_backends(snap_dir_, 42).ok());
      EXPECT_FALSE(std::filesystem::exists(dir));
    }
  }
}

TEST_F(SnapshotTransferTest, ADamagedOrShortStreamIsRefusedAndLeavesNothing) {
  const std::string stream = stream_of("lmdb");
  std::vector<std::string> bad = {
      "",                                   // nothing
      "NOTASNAP" + stream.substr(8),        // another format
      stream.substr(0, stream.size() / 2),  // cut short
      stream.substr(0, stream.size() - 1),  // its checksum cut
      stream + "x",                         // something after the end
  };
  std::string flipped = stream;
  flipped[stream.size() / 3] ^= 0x01;
  bad.push_back(flipped);
  std::string versioned = stream;
  versioned[8] = 9;
  bad.push_back(versioned);
  for (size_t i = 0; i < bad.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    StringSource in(bad[i]);
    Status s = receive_backend(*engines_.at("leveldb"), snap_dir_, 7, in);
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.is_corruption() || s.is_failed_precondition()) << s.to_string();
    EXPECT_TRUE(std::filesystem::is_empty(snap_dir_)) << "left behind after " << s.to_string();
  }
}

TEST_F(SnapshotTransferTest, AReceivedStoreIsInstalledInPlaceOfTheMembersStore) {
  const std::string db = tmp_.path() + "/db";
  {
    auto old = open("lmdb", db);
    ASSERT_TRUE(old->create_bucket("old").ok());
  }
  StringSource in(stream_of("leveldb"));
  ASSERT_TRUE(receive_backend(*engines_.at("lmdb"), snap_dir_, 9, in).ok());
  ASSERT_TRUE(install_backend(received_backend_dir(snap_dir_, 9), db).ok());
  EXPECT_FALSE(std::filesystem::exists(db + ".replaced"));
  EXPECT_FALSE(std::filesystem::exists(received_backend_dir(snap_dir_, 9)));
  auto store = open("lmdb", db);
  EXPECT_TRUE(contents_of(*store) == want_);

  // What a crash between the two renames leaves is finished at the next start.
  std::filesystem::create_directories(db + ".replaced");
  ASSERT_TRUE(finish_install(db).ok());
  EXPECT_FALSE(std::filesystem::exists(db + ".replaced"));
}

TEST_F(SnapshotTransferTest, ReceivedStoresAreRemovedUpToAnIndex) {
  for (uint64_t index : {5, 6, 9}) std::filesystem::create_directories(received_backend_dir(snap_dir_, index));
  std::filesystem::create_directories(snap_dir_ + "/0000000000000010.db.partial");
  std::filesystem::create_directories(snap_dir_ + "/keep-me");
  ASSERT_TRUE(remove_received_backends(snap_dir_, 6).ok());
  EXPECT_FALSE(std::filesystem::exists(received_backend_dir(snap_dir_, 5)));
  EXPECT_FALSE(std::filesystem::exists(received_backend_dir(snap_dir_, 6)));
  EXPECT_TRUE(std::filesystem::exists(received_backend_dir(snap_dir_, 9)));  // a later snapshot's
  EXPECT_FALSE(std::filesystem::exists(snap_dir_ + "/0000000000000010.db.partial"));
  EXPECT_TRUE(std::filesystem::exists(snap_dir_ + "/keep-me"));
}

TEST_F(SnapshotTransferTest, ACopyInAFileIsReadBackAndTheFileIsGone) {
  const std::string path = tmp_.path() + "/out";
  auto source = copy_to_file(path, [](ByteSink& out) { return out.write(std::string(100000, 'z')); });
  ASSERT_TRUE(source.ok());
  EXPECT_FALSE(std::filesystem::exists(path));  // unlinked: it goes with the stream
  EXPECT_EQ(*read_all(**source), std::string(100000, 'z'));
  auto failed = copy_to_file(path, [](ByteSink&) { return Status::IOError("disk gone"); });
  EXPECT_TRUE(failed.status().is_io_error());
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace keel::server
