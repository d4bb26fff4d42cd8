// Blocking socket calls for the snapshot (and introduction) threads, which own their socket's
// descriptor outright (a snapshot may wait on a slow reader for long; the io_context threads never
// do).
//
// A call fails with Unavailable naming what broke; a descriptor shut down by stop() makes the
// blocked call return at once.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_BLOCKING_SOCKET_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_BLOCKING_SOCKET_H_

#include <chrono>
#include <functional>
#include <cstddef>

#include "keel/status.h"
#include "keel/peer_url.h"

namespace keel::tcp {

// Writes all `n` bytes.
Status send_all(int fd, const char* data, size_t n);
// Reads exactly `n` bytes; the peer closing first is an error.
Status recv_all(int fd, char* buf, size_t n);

// As above, failing with Unavailable once `deadline` has passed: for a party whose answer is not
// worth waiting for beyond it (an introduction), where a slow sender must not hold a thread.
using Deadline = std::chrono::steady_clock::time_point;
Status send_all(int fd, const char* data, size_t n, Deadline deadline);
Status recv_all(int fd, char* buf, size_t n, Deadline deadline);
// Shuts down our writing side, then reads and drops what the peer still sends until it closes or
// `limit` passes, so that an answer given before the peer finished sending is not lost to the
// reset that closing with unread bytes would send.
void drain(int fd, std::chrono::milliseconds limit);
// Reads up to `n` bytes, 0 at the end of the stream.
Result<size_t> recv_some(int fd, char* buf, size_t n);
// True if bytes (or the end of the stream) can be read without blocking.
bool readable_now(int fd);
// How a snapshot thread lets stop() reach the descriptor it works on.
struct SocketHooks {
  std::function<bool(int)> adopt;   // a new descriptor; false: stopping, do not use it
  std::function<void(int)> forget;  // called before the descriptor is closed
  std::function<bool()> cancelled;  // polled while connecting
};

// Connects to `url` (every address its host resolves to, in turn) within `timeout`, with
// TCP_NODELAY set and the descriptor left blocking and adopted through `hooks`.
Result<int> connect_blocking(const PeerUrl& url, std::chrono::milliseconds timeout,
                             const SocketHooks& hooks);

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_BLOCKING_SOCKET_H_
