// The Prometheus text format's lexical rules, as Go's client writes them (internal to
// framework/metrics; registry.cc composes them into samples).
#ifndef KEEL_METRICS_TEXT_FORMAT_H_
#define KEEL_METRICS_TEXT_FORMAT_H_

#include <string>
#include <string_view>

namespace keel::metrics {

// A sample value or bucket bound as Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest digits
// that read back as v, in exponent form when the decimal exponent is below -4 or at least 6
// ("1.048576e+06", "2.5e-05", "0.001", "20480"); "+Inf", "-Inf", "NaN".
std::string format_value(double v);

// Appends `s` to `out` with \\, \" and \n escaped (label values).
void append_label_value(std::string* out, std::string_view s);
// Appends `s` to `out` with \\ and \n escaped (# HELP text).
void append_help(std::string* out, std::string_view s);

}  // namespace keel::metrics

#endif  // KEEL_METRICS_TEXT_FORMAT_H_
