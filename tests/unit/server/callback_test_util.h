// Callbacks that say who they are, for the tests of the member's waiting lists (proposal
// waiters, read rounds): a test hands out says("a") and checks which ones were called, in order.
#ifndef KEEL_TESTS_UNIT_SERVER_CALLBACK_TEST_UTIL_H_
#define KEEL_TESTS_UNIT_SERVER_CALLBACK_TEST_UTIL_H_

#include <functional>
#include <string>
#include <vector>

namespace keel::server {

inline std::function<std::string()> says(std::string what) {
  return [what] { return what; };
}

// What each callback says, in order.
inline std::vector<std::string> called(std::vector<std::function<std::string()>> callbacks) {
  std::vector<std::string> out;
  for (auto& c : callbacks) out.push_back(c());
  return out;
}

}  // namespace keel::server

#endif  // KEEL_TESTS_UNIT_SERVER_CALLBACK_TEST_UTIL_H_
