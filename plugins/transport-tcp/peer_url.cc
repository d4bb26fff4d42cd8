#include "peer_url.h"

#include <charconv>

namespace keel::tcp {

namespace {

Status bad(std::string_view url, const char* why) {
  return Status::InvalidArgument("transport-tcp: cannot use peer URL \"" + std::string(url) +
                                 "\": " + why);
}

}  // namespace

std::string PeerUrl::with_port(uint16_t p) const {
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(p);
}

Result<PeerUrl> parse_peer_url(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (url.substr(0, kHttps.size()) == kHttps) {
    return Status::NotSupported("peer TLS is not served yet by transport-tcp (URL \"" +
                                std::string(url) + "\")");
  }
  if (url.substr(0, kHttp.size()) != kHttp) return bad(url, "expected http://host:port");
  std::string_view rest = url.substr(kHttp.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  PeerUrl out;
  out.text = std::string(url);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad(url, "an IPv6 address without its ']'");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad(url, "no port");
    port_text = rest.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad(url, "no port");
    out.host = std::string(rest.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad(url, "an IPv6 address needs brackets");
    port_text = rest.substr(colon + 1);
  }
  if (out.host.empty()) return bad(url, "no host");
  if (out.host.find_first_of("/?#@ ") != std::string::npos) return bad(url, "a path or odd host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return bad(url, "the port is not a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

}  // namespace keel::tcp
