#include "config/duration.h"

#include <cmath>
#include <string>

namespace keel::config {

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const Status bad = Status::InvalidArgument("time: invalid duration \"" + std::string(text) + "\"");
  if (text == "0") return std::chrono::nanoseconds(0);
  if (text.empty()) return bad;
  long double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    if (i == start) return bad;
    std::string number(text.substr(start, i - start));
    if (number == "." || number.find('.') != number.rfind('.')) return bad;
    size_t unit_start = i;
    while (i < text.size() && !((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    long double scale;
    if (unit == "ns") scale = 1;
    else if (unit == "us" || unit == "\xC2\xB5s") scale = 1e3;
    else if (unit == "ms") scale = 1e6;
    else if (unit == "s") scale = 1e9;
    else if (unit == "m") scale = 60e9;
    else if (unit == "h") scale = 3600e9;
    else return bad;
    total += std::stold(number) * scale;
  }
  if (total > 9.2e18L) return bad;
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(total)));
}

}  // namespace keel::config
