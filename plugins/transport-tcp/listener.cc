#include "listener.h"

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/strand.hpp>

namespace keel::tcp {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

Listener::Listener(TransportContext& ctx, PeerUrl url, AcceptFn on_accept)
    : ctx_(ctx),
      url_(std::move(url)),
      on_accept_(std::move(on_accept)),
      acceptor_(ctx.io),
      pause_(ctx.io) {}

Result<std::shared_ptr<Listener>> Listener::open(TransportContext& ctx, const PeerUrl& url,
                                                 AcceptFn on_accept) {
  auto l = std::make_shared<Listener>(ctx, url, std::move(on_accept));
  error_code ec;
  tcp::resolver resolver(ctx.io);
  auto found = resolver.resolve(url.host, std::to_string(url.port), tcp::resolver::passive, ec);
  if (ec || found.empty()) {
    return Status::InvalidArgument("transport-tcp: cannot listen on " + url.text + ": " +
                                   (ec ? ec.message() : "no address"));
  }
  // The first address the host names (a name like "localhost" may name several; one is enough).
  const tcp::endpoint endpoint = found.begin()->endpoint();
  auto failed = [&](const char* step) -> Status {
    std::string m = "transport-tcp: cannot listen on " + url.text + " (" + step + "): " + ec.message();
    if (ec == asio::error::address_in_use) return Status::Unavailable(m);
    return Status::InvalidArgument(m);
  };
  l->acceptor_.open(endpoint.protocol(), ec);
  if (ec) return failed("open");
  l->acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (ec) return failed("SO_REUSEADDR");
  if (endpoint.address().is_v6()) l->acceptor_.set_option(asio::ip::v6_only(true), ec);
  l->acceptor_.bind(endpoint, ec);
  if (ec) return failed("bind");
  l->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failed("listen");
  return l;
}

void Listener::start() { accept_next(); }

void Listener::accept_next() {
  auto self = shared_from_this();
  acceptor_.async_accept(asio::make_strand(ctx_.io), [self](const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (!ec) {
      self->on_accept_(std::move(socket));
      return self->accept_next();
    }
    // Out of descriptors, most likely: pause rather than spin.
    self->ctx_.log(LogLevel::kWarn, "accepting on " + self->url_.text + ": " + ec.message());
    self->pause_.expires_after(std::chrono::milliseconds(100));
    self->pause_.async_wait([self](const error_code& ec) {
      if (!ec) self->accept_next();
    });
  });
}

void Listener::close_now() {
  error_code ignored;
  acceptor_.close(ignored);
  pause_.cancel();
}

}  // namespace keel::tcp
