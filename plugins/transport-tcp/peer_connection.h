// One outgoing lane to one peer: a bounded queue of frames and the TCP connection that drains it.
//
// The connection is made when frames wait (trying the peer's URLs in turn), starts with the
// preface (wire_format.h) and waits for the receiver's answer; then it writes the queue in
// batches (many frames gathered into one write). A failed connect or a broken connection reports
// the peer unreachable (once per attempt) and is tried again after a backoff (50 ms doubling up
// to 1 s, reset by a successful handshake) while frames wait. A refusal (another cluster, another
// member) is logged as an error, drops the queue and reports the peer unreachable.
//
// Thread safety: enqueue(), set_urls() and close() may be called from any thread; everything
// else runs on the connection's strand. close_now() only while no io thread runs.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_PEER_CONNECTION_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_PEER_CONNECTION_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "keel/transport.h"
#include "keel/peer_url.h"
#include "transport_context.h"
#include "wire_format.h"

namespace keel::tcp {

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
 public:
  PeerConnection(TransportContext& ctx, MemberId peer, Lane lane, std::vector<PeerUrl> urls);
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  // Queues `frame`; false (the frame is not taken) when the queue is full or the lane closed.
  bool enqueue(std::string& frame);
  // Tells the handler the peer is unreachable, unless such a report is already on its way.
  void report_unreachable();
  // Replaces the URLs; a connection made to the old ones is closed and made again.
  void set_urls(std::vector<PeerUrl> urls);
  // Drops the queue and closes the connection for good.
  void close();
  // As close(), at once. REQUIRES: no io thread runs.
  void close_now();

 private:
  struct Attempt;
  struct Batch;
  enum class State { kIdle, kConnecting, kReady, kBackoff };

  void on_kick();
  void start_connect();
  void on_handshake_written(const std::shared_ptr<Attempt>& a);
  void on_answer(const std::shared_ptr<Attempt>& a);
  void on_ready(const std::shared_ptr<Attempt>& a);
  void watch_for_close(const std::shared_ptr<Attempt>& a);
  // Writes the next batch; `continuing` when called by the previous write's completion.
  void start_write(const std::shared_ptr<Attempt>& a, bool continuing);
  void fail(const std::shared_ptr<Attempt>& a, const std::string& why);
  void schedule_retry();
  void drop_queue();
  bool queue_empty();
  void close_on_strand();
  std::string what() const;

  TransportContext& ctx_;
  const MemberId peer_;
  const Lane lane_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;

  // On the strand only.
  std::vector<PeerUrl> urls_;
  size_t next_url_ = 0;
  State state_ = State::kIdle;
  std::shared_ptr<Attempt> current_;
  boost::asio::steady_timer retry_timer_;
  std::chrono::milliseconds backoff_;
  bool closed_ = false;
  bool down_logged_ = false;  // the peer's being down was logged; said again once it is back

  std::mutex mu_;  // guards what follows
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool kick_posted_ = false;
  bool writing_ = false;  // a batch is being written: its completion takes the next one
  bool accepting_ = true;

  std::atomic<bool> unreachable_pending_{false};
};

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_PEER_CONNECTION_H_
