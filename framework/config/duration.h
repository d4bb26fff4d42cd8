// Durations as Go writes them, since etcd's flags take them so: "5s", "2h0m0s", "100ms", "1.5h".
#ifndef KEEL_CONFIG_DURATION_H_
#define KEEL_CONFIG_DURATION_H_

#include <chrono>
#include <string_view>

#include "keel/status.h"

namespace keel::config {

// A non-negative Go duration: one or more <number><unit> with units ns, us, µs, ms, s, m, h; a
// lone "0" is zero. InvalidArgument otherwise.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

}  // namespace keel::config

#endif  // KEEL_CONFIG_DURATION_H_
