// Parsing the URLs transport-grpc listens on and reaches peers at: "http://host:port" with host a
// name, an IPv4 address or a bracketed IPv6 address ("http://[::1]:2380"), an optional '/'.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_PEER_URL_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_PEER_URL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel::grpc_transport {

struct PeerUrl {
  std::string text;  // as given
  std::string host;  // without brackets
  uint16_t port = 0;

  // "host:port" as gRPC takes it (brackets around an IPv6 host), with `port`.
  std::string address(uint16_t p) const;
  std::string address() const { return address(port); }
  // "http://host:port" with `p`.
  std::string with_port(uint16_t p) const { return "http://" + address(p); }
  friend bool operator==(const PeerUrl&, const PeerUrl&) = default;
};

// InvalidArgument naming the URL if it cannot be parsed; NotSupported for https (peer TLS is not
// served by this transport yet).
Result<PeerUrl> parse_peer_url(std::string_view url);

// All of `urls` parsed, or the first one's error; InvalidArgument for none at all.
Result<std::vector<PeerUrl>> parse_peer_urls(const std::vector<std::string>& urls);

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_PEER_URL_H_
