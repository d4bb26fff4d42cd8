// keel/peer_url.h: the peer URLs a transport listens on and reaches peers at, as etcd's flags give
// them: "http://host:port" with host a name, an IPv4 address or a bracketed IPv6 address
// ("http://[::1]:2380"), an optional trailing '/'. Header-only, for every transport plugin, in
// keel's tree or outside it.
// Thread safety: pure functions.
#ifndef KEEL_PEER_URL_H_
#define KEEL_PEER_URL_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel {

struct PeerUrl {
  std::string text;  // as given
  std::string host;  // without brackets
  uint16_t port = 0;

  // "host:port" (brackets around an IPv6 host), with port `p`.
  std::string address(uint16_t p) const {
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(p);
  }
  std::string address() const { return address(port); }
  // "http://host:port" with port `p`.
  std::string with_port(uint16_t p) const { return "http://" + address(p); }
  friend bool operator==(const PeerUrl&, const PeerUrl&) = default;
};

// InvalidArgument naming the URL if it cannot be parsed; NotSupported for https (peer TLS is not
// served yet). `transport` names the plugin in the messages ("transport-tcp").
inline Result<PeerUrl> parse_peer_url(std::string_view url, std::string_view transport) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument(std::string(transport) + ": cannot use peer URL \"" + std::string(url) +
                                   "\": " + why);
  };
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  if (url.substr(0, kHttps.size()) == kHttps) {
    return Status::NotSupported("peer TLS is not served yet by " + std::string(transport) + " (URL \"" +
                                std::string(url) + "\")");
  }
  if (url.substr(0, kHttp.size()) != kHttp) return bad("expected http://host:port");
  std::string_view rest = url.substr(kHttp.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  PeerUrl out;
  out.text = std::string(url);
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return bad("an IPv6 address without its ']'");
    out.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("no port");
    port_text = rest.substr(1);
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    out.host = std::string(rest.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("an IPv6 address needs brackets");
    port_text = rest.substr(colon + 1);
  }
  if (out.host.empty()) return bad("no host");
  if (out.host.find_first_of("/?#@ []") != std::string::npos) return bad("a path or odd host");
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

// All of `urls` parsed, or the first one's error; InvalidArgument for none at all.
inline Result<std::vector<PeerUrl>> parse_peer_urls(const std::vector<std::string>& urls, std::string_view transport) {
  if (urls.empty()) return Status::InvalidArgument(std::string(transport) + ": no peer URL given");
  std::vector<PeerUrl> out;
  for (const auto& u : urls) {
    Result<PeerUrl> p = parse_peer_url(u, transport);
    if (!p.ok()) return p.status();
    out.push_back(std::move(p).value());
  }
  return out;
}

}  // namespace keel

#endif  // KEEL_PEER_URL_H_
