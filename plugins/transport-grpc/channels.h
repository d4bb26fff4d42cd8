// The channels a sender opens to a peer. Each lane and each snapshot gets a channel of its own,
// with its own subchannel pool, so each is its own TCP connection: a control frame never waits
// behind a bulk one in a shared HTTP/2 connection window, nor behind a snapshot.
//
// gRPC's reconnect backoff is set short (50 ms doubling to 1 s, a connect given 1 s) so a peer
// that comes back is reached within about a second, not gRPC's default 20 s; keepalive pings
// find a peer that vanished without closing its connections.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_CHANNELS_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_CHANNELS_H_

#include <grpcpp/channel.h>
#include <grpcpp/server_builder.h>

#include <cstddef>
#include <memory>

#include "keel/peer_url.h"

namespace keel::grpc_transport {

// A plaintext channel to `url`, its own TCP connection. It takes messages of up to
// `max_receive_bytes` (0: gRPC's default, 4 MiB: a lane or a snapshot receives only small replies).
std::shared_ptr<grpc::Channel> make_channel(const PeerUrl& url, size_t max_receive_bytes = 0);

// The server settings that go with the channels (keepalive pings it permits, one listener per
// port), and its message size limit.
void configure_server(grpc::ServerBuilder& builder, size_t max_message_bytes);

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_CHANNELS_H_
