// What every part of one transport-tcp instance shares: its options, the logger, the io_context
// whose threads run the connections, and whether stop() has begun.
//
// Thread safety: the members are set at construction; `stopped` is atomic; `io` is thread-safe.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_TRANSPORT_CONTEXT_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_TRANSPORT_CONTEXT_H_

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <string_view>

#include "keel/logger.h"
#include "keel/transport.h"

namespace keel::tcp {

struct TransportContext {
  TransportContext(const TransportOptions& o, Logger& l) : options(o), logger(l) {}

  TransportHandler& handler() const { return *options.handler; }

  // Tells the handler `peer` is unreachable, from an io thread (never from the caller's: send()
  // runs on the Raft loop, which must not re-enter its own handler).
  void report_unreachable(MemberId peer) {
    boost::asio::post(io, [this, peer] {
      if (!stopped.load(std::memory_order_acquire)) handler().on_unreachable(peer);
    });
  }

  void log(LogLevel level, std::string_view message) {
    logger.log(level, "transport-tcp: " + std::string(message));
  }

  const TransportOptions options;
  Logger& logger;
  boost::asio::io_context io;
  std::atomic<bool> stopped{false};
};

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_TRANSPORT_CONTEXT_H_
