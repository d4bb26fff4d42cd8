// KeyRange: which keys a request names, with etcd's conventions for range_end decoded once:
// empty = the one key; "\0" = every key >= key; otherwise the half-open [key, range_end).
#ifndef KEEL_MVCC_KEY_RANGE_H_
#define KEEL_MVCC_KEY_RANGE_H_

#include <string_view>

namespace keel::mvcc {

struct KeyRange {
  std::string_view begin;
  std::string_view end;  // meaningful only when !single && !to_end
  bool single = true;
  bool to_end = false;

  // Views into the caller's strings: they must outlive the KeyRange.
  static KeyRange from(std::string_view key, std::string_view range_end) {
    KeyRange r;
    r.begin = key;
    if (range_end.empty()) return r;
    r.single = false;
    if (range_end.size() == 1 && range_end[0] == '\0') {
      r.to_end = true;
    } else {
      r.end = range_end;
    }
    return r;
  }

  bool contains(std::string_view k) const {
    if (single) return k == begin;
    if (k < begin) return false;
    return to_end || k < end;
  }
  // True if some key >= k may still be inside (for ordered scans).
  bool before_end(std::string_view k) const {
    if (single) return k <= begin;
    return to_end || k < end;
  }
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_KEY_RANGE_H_
