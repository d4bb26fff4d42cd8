#include "config/url.h"

#include <charconv>

namespace keel::config {

Result<Url> parse_url(std::string_view text) {
  Url url;
  url.text = std::string(text);
  const std::string shown(text);
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("URL scheme must be http or https: " + shown);
  }
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return Status::InvalidArgument("URL scheme must be http or https: " + shown);
  }
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?#");
  if (slash != std::string_view::npos) {
    return Status::InvalidArgument("URL must not contain a path: " + shown);
  }
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Status::InvalidArgument("URL address does not have the form \"host:port\": " + shown);
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos || rest.find(':') != colon) {
      return Status::InvalidArgument("URL address does not have the form \"host:port\": " + shown);
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      value > 65535) {
    return Status::InvalidArgument("URL address does not have the form \"host:port\": " + shown);
  }
  url.host = std::string(host);
  url.port = static_cast<uint16_t>(value);
  return url;
}

Result<std::vector<Url>> parse_url_list(std::string_view text) {
  std::vector<Url> urls;
  if (text.empty()) return Status::InvalidArgument("no URL given");
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t comma = text.find(',', begin);
    if (comma == std::string_view::npos) comma = text.size();
    Result<Url> url = parse_url(text.substr(begin, comma - begin));
    if (!url.ok()) return url.status();
    urls.push_back(std::move(url).value());
    begin = comma + 1;
  }
  return urls;
}

std::string join_urls(const std::vector<Url>& urls) {
  std::string s;
  for (const auto& u : urls) s += (s.empty() ? "" : ",") + u.text;
  return s;
}

}  // namespace keel::config
