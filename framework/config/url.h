// URLs as etcd's flags take them: scheme://host:port, no path.
#ifndef KEEL_CONFIG_URL_H_
#define KEEL_CONFIG_URL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel::config {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // a name or an address; an IPv6 address without its brackets
  uint16_t port = 0;
  std::string text;    // as written

  bool operator==(const Url& other) const {
    return scheme == other.scheme && host == other.host && port == other.port;
  }
};

// One URL. InvalidArgument with etcd's wording for what is wrong.
Result<Url> parse_url(std::string_view text);
// A comma-separated list of at least one URL.
Result<std::vector<Url>> parse_url_list(std::string_view text);
std::string join_urls(const std::vector<Url>& urls);

}  // namespace keel::config

#endif  // KEEL_CONFIG_URL_H_
