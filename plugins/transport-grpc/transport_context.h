// What every part of one transport-grpc instance shares: its options and settings, the logger,
// the thread that tells the handler about unreachable peers, and whether stop() has begun.
//
// Thread safety: the members are set at construction; `stopped` is atomic; the notifier and the
// logger are thread-safe.
#ifndef KEEL_PLUGINS_TRANSPORT_GRPC_TRANSPORT_CONTEXT_H_
#define KEEL_PLUGINS_TRANSPORT_GRPC_TRANSPORT_CONTEXT_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "keel/logger.h"
#include "keel/transport.h"
#include "notifier.h"

namespace keel::grpc_transport {

// The plugin's own settings (its config section; README.md).
struct Settings {
  size_t snapshot_chunk_bytes = 64u << 10;  // snapshot data per message
  size_t max_snapshots = 4;                 // in flight each way, at once
  size_t batch_bytes = 1u << 20;            // frames per lane message, at most (and max_frame_bytes)
};

// What a message may add to the frames it carries (field tags, lengths, gRPC's own header).
inline constexpr size_t kMessageOverhead = 4096;
// What one frame costs in a FrameBatch beyond its bytes: a tag and a length of up to 10 bytes.
inline constexpr size_t kFrameOverhead = 16;

struct TransportContext {
  TransportContext(const TransportOptions& o, const Settings& s, Logger& l)
      : options(o), settings(s), logger(l), notifier(*o.handler) {}

  TransportHandler& handler() const { return *options.handler; }
  bool stopping() const { return stopped.load(std::memory_order_acquire); }

  // The largest message the server takes: a frame (or a snapshot chunk) and its overhead. A
  // snapshot chunk may be larger than a small max_frame_bytes, so frames up to the chunk size
  // are read and then dropped by the receiver rather than refused by gRPC.
  size_t max_message_bytes() const {
    return std::max(options.max_frame_bytes, settings.snapshot_chunk_bytes) + kMessageOverhead;
  }
  // How many bytes of frames a sender puts in one message.
  size_t batch_bytes() const { return std::min(settings.batch_bytes, options.max_frame_bytes); }

  void log(LogLevel level, std::string_view message) {
    logger.log(level, "transport-grpc: " + std::string(message));
  }

  const TransportOptions options;
  const Settings settings;
  Logger& logger;
  Notifier notifier;
  std::atomic<bool> stopped{false};
};

// `id` as 16 lowercase hex digits, as etcd prints member and cluster ids.
std::string hex(uint64_t id);

inline const char* lane_name(Lane lane) { return lane == Lane::kControl ? "control" : "bulk"; }

}  // namespace keel::grpc_transport

#endif  // KEEL_PLUGINS_TRANSPORT_GRPC_TRANSPORT_CONTEXT_H_
