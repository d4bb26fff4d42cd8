// keel::Clock: the one source of time handed to plugins (token expiry, timeouts), so tests can
// drive time themselves. Monotonic: a wall-clock jump changes nothing.
//
// Thread safety: now may be called from any thread at once.
#ifndef KEEL_CLOCK_H_
#define KEEL_CLOCK_H_

#include <chrono>

namespace keel {

class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
};

}  // namespace keel

#endif  // KEEL_CLOCK_H_
