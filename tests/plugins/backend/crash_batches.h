// The batches the crash test writes, a pure function of their number, so the parent can tell
// exactly what a store must hold after the writer died: batch n puts keys "b<n>/<i>" for
// i < key_count(n), sets "last" to n, and deletes the whole batch n - kKeep with a delete-range.
// After a crash with "last" = L, batches max(1, L - kKeep + 1) .. L are there whole, no other.
#ifndef KEEL_TESTS_PLUGINS_BACKEND_CRASH_BATCHES_H_
#define KEEL_TESTS_PLUGINS_BACKEND_CRASH_BATCHES_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "keel/backend.h"

namespace keel::testing {

inline constexpr const char* kCrashBucket = "crash";
inline constexpr uint64_t kKeep = 10;

inline std::string batch_prefix(uint64_t n) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "b%010llu/", static_cast<unsigned long long>(n));
  return buf;
}

inline int key_count(uint64_t n) { return 1 + static_cast<int>((n * 7919) % 40); }

inline std::string batch_value(uint64_t n, int i) {
  size_t size = (n * 31 + static_cast<uint64_t>(i) * 977) % 5000;
  if (i == 0 && n % 17 == 0) size = 300 * 1024;  // now and then a large value
  std::string v(size, static_cast<char>('a' + (n + static_cast<uint64_t>(i)) % 26));
  v += std::to_string(n);
  return v;
}

inline void add_batch(uint64_t n, WriteBatch* w) {
  for (int i = 0; i < key_count(n); ++i) {
    w->put(kCrashBucket, batch_prefix(n) + std::to_string(i), batch_value(n, i));
  }
  w->put(kCrashBucket, "last", std::to_string(n));
  if (n > kKeep) {
    std::string gone = batch_prefix(n - kKeep);
    std::string end = gone;
    end.back() = '0';  // '/' + 1
    w->erase_range(kCrashBucket, gone, end);
  }
}

// What the crash bucket holds once batch `last` is the newest committed.
inline std::map<std::string, std::string> expected_after(uint64_t last) {
  std::map<std::string, std::string> m;
  if (last == 0) return m;
  m["last"] = std::to_string(last);
  for (uint64_t n = last >= kKeep ? last - kKeep + 1 : 1; n <= last; ++n) {
    for (int i = 0; i < key_count(n); ++i) m[batch_prefix(n) + std::to_string(i)] = batch_value(n, i);
  }
  return m;
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_PLUGINS_BACKEND_CRASH_BATCHES_H_
