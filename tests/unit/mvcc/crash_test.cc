// SIGKILL a process applying numbered entries to a KvStore on each real backend, many times over
// the same store: after every kill the applied (consistent) index and the key space agree exactly
// — no entry lost from a committed batch, none applied twice after the restart resumes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "keel/plugin.h"
#include "mvcc/kv_store.h"
#include "mvcc_crash_ops.h"
#include "mvcc_test_util.h"

namespace keel::mvcc::testing {
namespace {

class MvccCrash : public ::testing::TestWithParam<std::string> {};

TEST_P(MvccCrash, TheAppliedIndexAndTheKeySpaceAgreeAfterEveryKill) {
  Result<std::unique_ptr<BackendPlugin>> engine = load_backend(GetParam());
  if (!engine.ok()) GTEST_SKIP() << engine.status().to_string();
  const char* env = std::getenv("KEEL_MVCC_CRASH_SEED");
  const uint64_t seed = env != nullptr ? std::stoull(env) : std::random_device{}();
  const char* kills_env = std::getenv("KEEL_MVCC_CRASH_KILLS");
  const int kills = kills_env != nullptr ? std::atoi(kills_env) : 20;
  std::printf("mvcc crash %s: seed %llu (KEEL_MVCC_CRASH_SEED), %d kills\n", GetParam().c_str(),
              static_cast<unsigned long long>(seed), kills);
  std::mt19937_64 rng(seed);
  TempDir tmp;
  const std::string dir = tmp.path() + "/store";
  uint64_t last_index = 0;
  for (int kill_no = 0; kill_no < kills; ++kill_no) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    std::string batch = std::to_string(1 + rng() % 50);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(ready[1], STDOUT_FILENO);
      execl(MVCC_CRASH_CHILD, MVCC_CRASH_CHILD, GetParam().c_str(), dir.c_str(), batch.c_str(), nullptr);
      _exit(127);
    }
    close(ready[1]);
    // Once the child has its store open (or has died: the read then ends), killed at a random
    // moment (no assertion rests on how long it ran).
    char line[16];
    (void)!read(ready[0], line, sizeof(line));
    close(ready[0]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child stopped on its own (kill " << kill_no << ")";

    auto backend = (*engine)->open(BackendOptions{dir, true});
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    auto store = KvStore::open(**backend);
    ASSERT_TRUE(store.ok()) << store.status().to_string();
    const uint64_t applied = (*store)->consistent_index();
    ASSERT_GE(applied, last_index) << "committed entries went missing (kill " << kill_no << ")";
    last_index = applied;

    // Replay entries 1..applied in a model: the store must hold exactly that.
    std::map<std::string, std::string> model;
    int64_t revision = 1;
    for (uint64_t i = 1; i <= applied; ++i) {
      CrashOp op = crash_op(i);
      if (op.put) {
        model[op.key] = op.value;
        ++revision;
      } else if (model.erase(op.key) > 0) {
        ++revision;
      }
    }
    EXPECT_EQ((*store)->current_revision(), revision) << "kill " << kill_no << ", index " << applied;
    RangeRequest all;
    all.key = std::string(1, '\0');
    all.range_end = std::string(1, '\0');
    Result<RangeResponse> got = (*store)->range(all);
    ASSERT_TRUE(got.ok());
    std::map<std::string, std::string> stored;
    for (const auto& kv : got->kvs) stored[kv.key] = kv.value;
    ASSERT_EQ(stored, model) << "kill " << kill_no << ", index " << applied;
    ASSERT_TRUE((*store)->check_invariants().ok());
  }
  EXPECT_GT(last_index, 0u);
  std::printf("mvcc crash %s: %llu entries applied across %d kills\n", GetParam().c_str(),
              static_cast<unsigned long long>(last_index), kills);
}

INSTANTIATE_TEST_SUITE_P(Backends, MvccCrash, ::testing::Values("lmdb", "leveldb"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace keel::mvcc::testing
