// Which keys a watcher's [key, range_end) covers, by etcd's rules: an empty range_end is the key
// alone; "\0" is every key >= key; otherwise the half-open range [key, range_end).
#ifndef KEEL_WATCHHUB_DEFAULT_KEY_RANGE_H_
#define KEEL_WATCHHUB_DEFAULT_KEY_RANGE_H_

#include <string>
#include <string_view>

namespace keel::watchhub {

inline bool is_single_key(const std::string& range_end) { return range_end.empty(); }

inline bool in_range(std::string_view k, const std::string& key, const std::string& range_end) {
  if (range_end.empty()) return k == key;
  if (range_end == std::string(1, '\0')) return k >= key;
  return k >= key && k < range_end;
}

}  // namespace keel::watchhub

#endif  // KEEL_WATCHHUB_DEFAULT_KEY_RANGE_H_
