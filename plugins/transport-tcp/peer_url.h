// Parsing the peer URLs transport-tcp is given: "http://host:port" with host a name, an IPv4
// address or a bracketed IPv6 address ("http://[::1]:2380"), an optional trailing '/'.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_PEER_URL_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_PEER_URL_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/status.h"

namespace keel::tcp {

struct PeerUrl {
  std::string text;  // as given
  std::string host;  // without brackets
  uint16_t port = 0;

  // "http://host:port" with `port` (brackets back around an IPv6 host).
  std::string with_port(uint16_t p) const;
  friend bool operator==(const PeerUrl&, const PeerUrl&) = default;
};

// InvalidArgument naming the URL if it cannot be parsed; NotSupported for https (peer TLS is not
// served by this transport yet).
Result<PeerUrl> parse_peer_url(std::string_view url);

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_PEER_URL_H_
