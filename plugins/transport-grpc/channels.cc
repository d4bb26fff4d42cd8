#include "channels.h"

#include <grpc/grpc.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <algorithm>
#include <climits>

namespace keel::grpc_transport {

namespace {

constexpr int kFirstReconnectMs = 50;
constexpr int kMaxReconnectMs = 1000;
constexpr int kConnectTimeoutMs = 1000;  // gRPC's "min reconnect backoff" is the connect deadline
constexpr int kKeepaliveMs = 10000;
constexpr int kKeepaliveTimeoutMs = 5000;

}  // namespace

std::shared_ptr<grpc::Channel> make_channel(const PeerUrl& url, size_t max_receive_bytes) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kFirstReconnectMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kConnectTimeoutMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Retries would keep a copy of what a stream sent; a lost frame is Raft's to resend.
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  // Peers talk directly, never through an http_proxy from the environment.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  args.SetMaxSendMessageSize(INT_MAX);
  if (max_receive_bytes > 0) {
    args.SetMaxReceiveMessageSize(static_cast<int>(std::min<size_t>(max_receive_bytes, INT_MAX)));
  }
  return grpc::CreateCustomChannel(url.address(), grpc::InsecureChannelCredentials(), args);
}

void configure_server(grpc::ServerBuilder& builder, size_t max_message_bytes) {
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<size_t>(max_message_bytes, INT_MAX)));
  // Without this, two listeners (another keel member, an old one) could share one port.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kKeepaliveMs / 2);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
}

}  // namespace keel::grpc_transport
