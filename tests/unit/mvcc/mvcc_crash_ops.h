// The numbered entries the MVCC crash test applies: a function of the index alone, so the test
// can replay exactly the entries a reopened store says it holds.
#ifndef KEEL_TESTS_UNIT_MVCC_MVCC_CRASH_OPS_H_
#define KEEL_TESTS_UNIT_MVCC_MVCC_CRASH_OPS_H_

#include <cstdint>
#include <string>

namespace keel::mvcc::testing {

struct CrashOp {
  bool put;
  std::string key;
  std::string value;
};

inline CrashOp crash_op(uint64_t index) {
  if (index % 10 == 0) return CrashOp{false, "k" + std::to_string((index / 10) % 50), ""};
  return CrashOp{true, "k" + std::to_string(index % 50), "v" + std::to_string(index)};
}

}  // namespace keel::mvcc::testing

#endif  // KEEL_TESTS_UNIT_MVCC_MVCC_CRASH_OPS_H_
