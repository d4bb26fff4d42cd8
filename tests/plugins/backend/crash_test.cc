// A writer process is SIGKILLed at random moments; after each kill the store must hold every
// batch whose synced commit was acknowledged, whole, and no part of any other batch (the one in
// flight is there whole or not at all). Seeded; the seed is printed (KEEL_CRASH_SEED sets it).
// 20 kills per backend; KEEL_CRASH_KILLS sets another number.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>

#include "backend_test_util.h"
#include "crash_batches.h"

namespace keel::testing {
namespace {

uint64_t env_number(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// Runs the writer until `acks` acknowledgements arrived, then `delay` more, then kills it.
// Returns the highest acknowledged batch (0 if none).
uint64_t run_and_kill(const std::string& plugin, const std::string& dir, int acks,
                      std::chrono::microseconds delay) {
  int out[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::execl(KEEL_CRASH_WRITER, KEEL_CRASH_WRITER, plugin.c_str(), dir.c_str(), nullptr);
    ::_exit(127);
  }
  ::close(out[1]);
  uint64_t acked = 0;
  std::string line;
  int seen = 0;
  auto read_acks = [&](bool until_eof) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(out[0], buf, sizeof(buf));
      if (n <= 0) return false;  // the writer ended
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != '\n') {
          line.push_back(buf[i]);
          continue;
        }
        acked = std::stoull(line);
        line.clear();
        ++seen;
      }
      if (!until_eof && seen >= acks) return true;
    }
  };
  bool alive = acks == 0 || read_acks(false);
  if (alive) std::this_thread::sleep_for(delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  read_acks(true);  // acknowledgements written before the kill are still in the pipe
  ::close(out[0]);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the writer ended by itself with status " << status;
  return acked;
}

class CrashTest : public ::testing::TestWithParam<std::string> {};

TEST_P(CrashTest, NoAcknowledgedBatchLostNoBatchTorn) {
  uint64_t seed = env_number("KEEL_CRASH_SEED", std::random_device()());
  uint64_t kills = env_number("KEEL_CRASH_KILLS", 20);
  std::cerr << "crash test " << GetParam() << ": seed " << seed << " (KEEL_CRASH_SEED), " << kills
            << " kills\n";
  std::mt19937_64 rng(seed);
  auto plugin = load_backend(GetParam());
  ASSERT_TRUE(plugin.ok()) << plugin.status().to_string();
  TempDir tmp;
  std::string dir = tmp.sub("store");
  uint64_t acked = 0;
  for (uint64_t round = 0; round < kills; ++round) {
    int acks = static_cast<int>(rng() % 30);
    auto delay = std::chrono::microseconds(rng() % 20000);
    uint64_t got = run_and_kill(GetParam(), dir, acks, delay);
    acked = std::max(acked, got);
    BackendOptions o;
    o.dir = dir;
    auto store = (*plugin)->open(o);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().to_string();
    auto content = read_all(**store);
    ASSERT_TRUE(content.ok()) << content.status().to_string();
    const auto& bucket = (*content)[kCrashBucket];
    uint64_t last = bucket.count("last") ? std::stoull(bucket.at("last")) : 0;
    // The batch in flight at the kill may have committed without its acknowledgement.
    ASSERT_GE(last, acked) << "round " << round << ": an acknowledged batch is lost";
    ASSERT_LE(last, acked + 1) << "round " << round;
    ASSERT_TRUE(bucket == expected_after(last))
        << "round " << round << ": the store is not exactly batches up to " << last;
    acked = last;
  }
  std::cerr << "crash test " << GetParam() << ": " << acked << " batches after " << kills
            << " kills\n";
}

// Kills that land while the store is first made: the dir must open afterwards every time.
TEST_P(CrashTest, CrashWhileCreatingLeavesAnOpenableDir) {
  uint64_t seed = env_number("KEEL_CRASH_SEED", std::random_device()());
  std::cerr << "crash-while-creating " << GetParam() << ": seed " << seed << "\n";
  std::mt19937_64 rng(seed);
  auto plugin = load_backend(GetParam());
  ASSERT_TRUE(plugin.ok()) << plugin.status().to_string();
  TempDir tmp;
  for (int round = 0; round < 10; ++round) {
    std::string dir = tmp.sub("store" + std::to_string(round));
    run_and_kill(GetParam(), dir, 0, std::chrono::microseconds(rng() % 15000));
    BackendOptions o;
    o.dir = dir;
    auto store = (*plugin)->open(o);
    ASSERT_TRUE(store.ok()) << "round " << round << ": " << store.status().to_string();
    auto content = read_all(**store);
    ASSERT_TRUE(content.ok()) << content.status().to_string();
    uint64_t last = (*content)[kCrashBucket].count("last")
                        ? std::stoull((*content)[kCrashBucket]["last"]) : 0;
    EXPECT_TRUE((*content)[kCrashBucket] == expected_after(last)) << "round " << round;
  }
}

INSTANTIATE_TEST_SUITE_P(Plugins, CrashTest, ::testing::Values("lmdb", "leveldb"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace keel::testing
