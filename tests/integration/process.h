// Running a program to its end for a test: its exit code and everything it printed.
#ifndef KEEL_TESTS_INTEGRATION_PROCESS_H_
#define KEEL_TESTS_INTEGRATION_PROCESS_H_

#include <map>
#include <string>
#include <vector>

namespace keel::testing {

struct ProcessResult {
  int exit_code = -1;  // or 128 + signal
  std::string out;
  std::string err;
};

// Runs `program` with `args` in `cwd`, with exactly `env` as its environment (plus PATH). A
// program still running after 120 s is killed (exit_code 137) rather than hang the tests.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          const std::string& cwd, const std::map<std::string, std::string>& env = {});

}  // namespace keel::testing

#endif  // KEEL_TESTS_INTEGRATION_PROCESS_H_
