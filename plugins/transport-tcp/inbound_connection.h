// One connection a peer made to us: reads its preface, refuses another cluster's or another
// member's (logging "cluster ID mismatch" / "member ID mismatch" with both ids in hex, and telling
// the sender why), then either delivers its frames to the handler in order or, for a snapshot,
// hands the socket to a snapshot thread. An introduction checks no ids (its asker knows none yet)
// and goes to an introduction thread.
//
// Frames are read through a 64 KiB buffer, many per read. A frame longer than max_frame_bytes is
// never allocated: its bytes are read through the same buffer and dropped (with a warning), and
// the frames after it are delivered.
//
// Thread safety: runs on its own strand; close_now() only while no io thread runs.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_INBOUND_CONNECTION_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_INBOUND_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "snapshot_threads.h"
#include "transport_context.h"
#include "wire_format.h"

namespace keel::tcp {

class InboundConnection : public std::enable_shared_from_this<InboundConnection> {
 public:
  // `socket` runs on a strand of its own; `snapshots` and `introductions` take the connections
  // of those kinds.
  InboundConnection(TransportContext& ctx, SnapshotThreads& snapshots, SnapshotThreads& introductions,
                    boost::asio::ip::tcp::socket socket);
  InboundConnection(const InboundConnection&) = delete;
  InboundConnection& operator=(const InboundConnection&) = delete;

  void start();
  // REQUIRES: no io thread runs.
  void close_now();

 private:
  void on_preface();
  void refuse(Answer answer, const std::string& text);
  // Gives the socket to a thread of `threads` running `serve`; refuses it busy if none is free.
  void hand_to_thread(SnapshotThreads& threads, std::function<void(SnapshotThreads::Slot&, int fd)> serve,
                      const char* busy);
  void read_more();
  void parse();
  void deliver(std::string frame);
  void closed(const boost::system::error_code& ec);
  std::string who() const;

  TransportContext& ctx_;
  SnapshotThreads& snapshots_;
  SnapshotThreads& introductions_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer deadline_;
  std::string remote_;
  char preface_[kPrefaceBytes];
  Preface peer_;
  std::string answer_;

  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;  // the unread bytes are buf_[begin_, end_)
  uint64_t skip_ = 0;           // bytes of an oversized frame still to drop
  std::string big_;             // a frame larger than buf_, being read straight into place
  size_t big_filled_ = 0;
  bool reading_big_ = false;
};

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_INBOUND_CONNECTION_H_
