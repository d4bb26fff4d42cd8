// keel-bench: a load generator for any server that speaks etcd's v3 gRPC API (keel or etcd).
//
//   keel-bench [options] <put|range|txn-put|mixed|watch-latency|watch-fanout|lease-keepalive> [options]
//   keel-bench matrix [options]      fresh members for every engine combination, and a report
//
// Prints a table and one JSON line on stdout; exits 0 when every operation succeeded, 1 when some
// failed or the run could not be done, 2 for bad options.
#include <absl/synchronization/mutex.h>
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "options.h"
#include "runner.h"

namespace keel::bench {
namespace {

void on_sigint(int) { g_interrupted.store(true); }

// `keel-bench matrix ...` is the matrix driver, a Python script (it starts and stops servers
// and writes the markdown, CSV and SVG report): found beside this binary, as the build and the
// install put it, else in the source tree.
int exec_matrix(int argc, char** argv) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> candidates = {
      (std::filesystem::path(self).parent_path() / "keel-bench-matrix.py").string(),
      KEEL_BENCH_MATRIX_SOURCE};
  for (const auto& script : candidates) {
    if (access(script.c_str(), R_OK) != 0) continue;
    std::vector<std::string> args = {"python3", script, "--keel-bench", self};
    for (int i = 2; i < argc; ++i) args.emplace_back(argv[i]);
    std::vector<char*> cargs;
    for (auto& a : args) cargs.push_back(a.data());
    cargs.push_back(nullptr);
    execv("/usr/bin/python3", cargs.data());
    std::perror("keel-bench matrix: /usr/bin/python3");
    return 1;
  }
  std::fprintf(stderr, "keel-bench matrix: keel-bench-matrix.py not found beside %s\n", self.c_str());
  return 1;
}

int run(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "matrix") return exec_matrix(argc, argv);
  ParseResult parsed = parse_options(argc, argv);
  if (!parsed.options) {
    std::fputs(parsed.message.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const Options& o = *parsed.options;
  signal(SIGINT, on_sigint);
  Report r = run_workload(o);
  if (o.output != Output::kJson) std::fputs(format_table(r).c_str(), stdout);
  if (o.output != Output::kTable) std::printf("%s\n", format_json(r).c_str());
  std::fflush(stdout);
  const bool failed = !r.fatal.empty() || r.stats.errors > 0 || r.writer.errors > 0;
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace keel::bench

int main(int argc, char** argv) {
  // As keeld does (services/grpc/client_server.cc): Debian's abseil checks every absl::Mutex
  // gRPC locks against a global lock-order graph; the harness must not spend its CPU on that.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return keel::bench::run(argc, argv);
}
