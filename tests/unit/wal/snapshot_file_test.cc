// Snapshot files: round trips, and every cut or damaged file found and passed over.
#include "wal/snapshot_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "temp_dir.h"
#include "wal/fault_injection_file_system.h"

namespace keel::wal {
namespace {

using ::testing::HasSubstr;

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t k = std::min(n, data_.size() - at_);
    std::copy_n(data_.data() + at_, k, buf);
    at_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t at_ = 0;
};

class StringSink : public ByteSink {
 public:
  Status write(std::string_view d) override {
    data.append(d);
    return Status::OK();
  }
  std::string data;
};

class CapturingLogger : public Logger {
 public:
  void log(LogLevel, std::string_view m) override { lines.emplace_back(m); }
  std::vector<std::string> lines;
};

raft::SnapshotMetadata meta(uint64_t index, uint64_t term) {
  raft::SnapshotMetadata m;
  m.index = index;
  m.term = term;
  m.conf_state.voters = {1, 2, 3};
  m.conf_state.learners = {9};
  return m;
}

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(data.data(), static_cast<std::streamsize>(data.size()));
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  FileSystem& fs_ = posix_file_system();
  TempDir tmp_;
  std::string dir_ = tmp_.path() + "/snap";

  std::string write(uint64_t index, uint64_t term, const std::string& data) {
    StringSource src(data);
    Result<std::string> path = write_snapshot_file(fs_, dir_, meta(index, term), "lmdb", src);
    EXPECT_TRUE(path.ok()) << path.status().to_string();
    return path.ok() ? *path : "";
  }
};

TEST_F(SnapshotFileTest, RoundTripsMetadataAndData) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{1} << 20, (size_t{7} << 19) + 13}) {
    std::string data = random_bytes(size, size);
    std::string path = write(100 + size, 3, data);
    EXPECT_THAT(path, ::testing::EndsWith(".snap"));
    Result<SnapshotFileInfo> info = read_snapshot_info(fs_, path);
    ASSERT_TRUE(info.ok()) << info.status().to_string();
    EXPECT_EQ(info->metadata, meta(100 + size, 3));
    EXPECT_EQ(info->engine, "lmdb");
    StringSink sink;
    ASSERT_TRUE(read_snapshot_data(fs_, path, sink).ok());
    EXPECT_EQ(sink.data, data) << size;
    auto perms = std::filesystem::status(path).permissions() & std::filesystem::perms::all;
    EXPECT_EQ(perms, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
}

TEST_F(SnapshotFileTest, EveryCutIsFound) {
  std::string path = write(10, 1, random_bytes((1 << 20) + 500, 1));
  std::string whole = slurp(path);
  std::vector<size_t> cuts;
  for (size_t i = 0; i < 200; ++i) cuts.push_back(i);                       // the header
  for (size_t i = (1 << 20) - 10; i < (1 << 20) + 120; ++i) cuts.push_back(i);  // around a chunk's end
  for (size_t i = whole.size() - 40; i < whole.size(); ++i) cuts.push_back(i);  // the trailer
  for (size_t cut : cuts) {
    spit(path, whole.substr(0, cut));
    StringSink sink;
    Status s = read_snapshot_data(fs_, path, sink);
    ASSERT_TRUE(s.is_corruption()) << cut << " " << s.to_string();
    EXPECT_THAT(s.message(), HasSubstr(path)) << cut;
  }
  spit(path, whole + "x");
  StringSink sink;
  EXPECT_THAT(read_snapshot_data(fs_, path, sink).message(), HasSubstr("bytes after its trailer"));
}

TEST_F(SnapshotFileTest, EveryFlippedByteIsFound) {
  std::string path = write(10, 1, random_bytes(300000, 2));
  std::string whole = slurp(path);
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    std::string damaged = whole;
    size_t at = trial < 100 ? static_cast<size_t>(trial) : rng() % whole.size();
    damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
    spit(path, damaged);
    StringSink sink;
    ASSERT_TRUE(read_snapshot_data(fs_, path, sink).is_corruption()) << at;
  }
}

TEST_F(SnapshotFileTest, TheNewestValidOneIsChosenAndBrokenOnesSetAside) {
  write(10, 1, "ten");
  std::string twenty = write(20, 2, "twenty");
  std::string thirty = write(30, 2, "thirty");
  std::string damaged = slurp(thirty);
  damaged[damaged.size() - 20] ^= 1;
  spit(thirty, damaged);
  CapturingLogger logger;
  Result<std::optional<SnapshotFileInfo>> newest = newest_valid_snapshot(fs_, dir_, &logger);
  ASSERT_TRUE(newest.ok());
  ASSERT_TRUE(newest->has_value());
  EXPECT_EQ((*newest)->path, twenty);
  EXPECT_EQ((*newest)->metadata.index, 20u);
  EXPECT_TRUE(std::filesystem::exists(thirty + ".broken"));
  EXPECT_FALSE(std::filesystem::exists(thirty));
  ASSERT_EQ(logger.lines.size(), 1u);
  EXPECT_THAT(logger.lines[0], HasSubstr("renamed to"));
}

TEST_F(SnapshotFileTest, NoneInAnEmptyOrMissingFolder) {
  Result<std::optional<SnapshotFileInfo>> none = newest_valid_snapshot(fs_, dir_, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(SnapshotFileTest, PurgeKeepsTheNewest) {
  for (uint64_t i = 1; i <= 6; ++i) write(i * 10, 1, "data");
  ASSERT_TRUE(purge_snapshot_files(fs_, dir_, 2).ok());
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_THAT(left, ::testing::ElementsAre("0000000000000001-0000000000000032.snap",
                                           "0000000000000001-000000000000003c.snap"));
  ASSERT_TRUE(purge_snapshot_files(fs_, dir_, 0).ok());  // 0 keeps all
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 2);
}

TEST_F(SnapshotFileTest, RefusesOtherFiles) {
  std::filesystem::create_directories(dir_);
  spit(dir_ + "/x.snap", "definitely not a snapshot");
  EXPECT_THAT(read_snapshot_info(fs_, dir_ + "/x.snap").status().message(), HasSubstr("is not a keel snapshot file"));
  std::string path = write(5, 1, "v");
  std::string newer = slurp(path);
  newer[8] = 2;  // format version 2
  spit(path, newer);
  EXPECT_THAT(read_snapshot_info(fs_, path).status().message(),
              HasSubstr("has format version 2; this keel reads version 1"));
}

TEST_F(SnapshotFileTest, AFailedSyncOrRenameLeavesNoFile) {
  FaultInjectionFileSystem fs(posix_file_system());
  for (int failure = 0; failure < 2; ++failure) {
    if (failure == 0) fs.fail_next_sync();
    if (failure == 1) fs.fail_next_rename();
    StringSource src("data");
    Result<std::string> path = write_snapshot_file(fs, dir_, meta(7, 1), "lmdb", src);
    ASSERT_FALSE(path.ok());
    EXPECT_TRUE(path.status().is_io_error());
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 0);
  }
}

}  // namespace
}  // namespace keel::wal
