// Accepts peers' connections on one listen URL and hands each, on a strand of its own, to
// `on_accept`.
//
// Thread safety: start() once; close_now() only while no io thread runs.
#ifndef KEEL_PLUGINS_TRANSPORT_TCP_LISTENER_H_
#define KEEL_PLUGINS_TRANSPORT_TCP_LISTENER_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include "keel/status.h"
#include "keel/peer_url.h"
#include "transport_context.h"

namespace keel::tcp {

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using AcceptFn = std::function<void(boost::asio::ip::tcp::socket)>;

  // Binds `url`: InvalidArgument if its host cannot be served here, Unavailable if the address
  // is taken.
  static Result<std::shared_ptr<Listener>> open(TransportContext& ctx, const PeerUrl& url,
                                                AcceptFn on_accept);

  Listener(TransportContext& ctx, PeerUrl url, AcceptFn on_accept);

  // The URL with the port it listens on (the one picked when the URL said 0).
  std::string url() const { return url_.with_port(acceptor_.local_endpoint().port()); }
  void start();
  void close_now();

 private:
  void accept_next();

  TransportContext& ctx_;
  const PeerUrl url_;
  AcceptFn on_accept_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer pause_;
};

}  // namespace keel::tcp

#endif  // KEEL_PLUGINS_TRANSPORT_TCP_LISTENER_H_
