// SIGKILL during a stream of acknowledged appends, many times over the same log: every
// acknowledged entry comes back, in order, after each kill. A killed process keeps its page cache,
// so this proves the log's logic across kills, not its syncs: the fault-injecting file system's
// tests (wal_faults_test) drop unsynced data for that.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "temp_dir.h"
#include "wal/wal.h"
#include "wal_test_util.h"

namespace keel::wal {
namespace {

int kills_wanted() {
  const char* env = std::getenv("KEEL_WAL_CRASH_KILLS");
  return env != nullptr ? std::atoi(env) : 50;
}

TEST(WalCrash, EveryAcknowledgedEntrySurvivesSigkill) {
  const char* replay = std::getenv("KEEL_WAL_CRASH_SEED");
  const uint64_t seed = replay != nullptr ? std::stoull(replay) : std::random_device{}();
  std::printf("seed %llu (replay: KEEL_WAL_CRASH_SEED=%llu)\n", static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  TempDir tmp;
  const std::string dir = tmp.path() + "/wal";
  uint64_t acked = 0;
  for (int kill_no = 0; kill_no < kills_wanted(); ++kill_no) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      std::string child_seed = std::to_string(rng());
      execl(WAL_CRASH_CHILD, WAL_CRASH_CHILD, dir.c_str(), child_seed.c_str(), nullptr);
      _exit(127);
    }
    close(out[1]);
    // Let it acknowledge a random number of saves, then kill it in the middle of the next.
    int wanted = 1 + static_cast<int>(rng() % 60);
    for (int got = 0; got < wanted; ++got) {
      uint64_t index;
      ssize_t n = read(out[0], &index, sizeof index);
      ASSERT_EQ(n, static_cast<ssize_t>(sizeof index)) << "the child stopped early (kill " << kill_no << ")";
      ASSERT_GT(index, acked);
      acked = index;
    }
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    // Acknowledgements still in the pipe count too: they were sent after a completed sync.
    uint64_t index;
    while (read(out[0], &index, sizeof index) == static_cast<ssize_t>(sizeof index)) acked = index;
    close(out[0]);

    WalContents c;
    Result<std::unique_ptr<Wal>> w = Wal::open(posix_file_system(), dir, WalOptions{}, &c);
    ASSERT_TRUE(w.ok()) << "kill " << kill_no << ": " << w.status().to_string();
    ASSERT_GE(c.entries.size(), acked) << "kill " << kill_no;
    for (uint64_t i = 0; i < c.entries.size(); ++i) {
      const raft::Entry& e = c.entries[i];
      ASSERT_EQ(e.index, i + 1) << "kill " << kill_no;
      ASSERT_EQ(e.data.substr(0, make_entry(i + 1, 1, 0).data.size()), make_entry(i + 1, 1, 0).data);
    }
    acked = c.entries.size();  // the child resumes after everything the log holds
  }
  std::printf("%d kills, %llu entries acknowledged and recovered\n", kills_wanted(),
              static_cast<unsigned long long>(acked));
}

}  // namespace
}  // namespace keel::wal
