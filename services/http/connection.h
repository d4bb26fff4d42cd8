// One HTTP/1.1 connection (Beast): reads a request, has Routes answer it, writes the response,
// and again while the client keeps the connection alive. Internal to services/http.
//
// Ownership: the listener holds every Connection (shared_ptr, the Asio idiom for handlers that
// outlive their caller) until it closes; a /health answer arriving later from a node thread
// reaches it through a Poster and a weak_ptr, so a connection closed meanwhile is simply gone.
// Thread safety: everything but Poster::post runs on the I/O thread.
#ifndef KEEL_SERVICES_HTTP_CONNECTION_H_
#define KEEL_SERVICES_HTTP_CONNECTION_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "http/routes.h"

namespace keel::http {

// Posts work to the I/O context while it runs; after close() nothing is posted.
class Poster {
 public:
  explicit Poster(boost::asio::io_context& ioc) : ioc_(&ioc) {}
  void post(std::function<void()> f);
  void close();

 private:
  std::mutex mu_;
  boost::asio::io_context* ioc_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `on_close` tells the owner to drop its reference (called once, on the I/O thread).
  Connection(boost::asio::ip::tcp::socket socket, Endpoint endpoint, Routes& routes,
             std::shared_ptr<Poster> poster, std::function<void(Connection*)> on_close);
  void start();
  void close();

 private:
  void read();
  void on_read(boost::beast::error_code ec);
  void respond(Response response);
  // After the last answer: stop sending, and read and discard until the client closes or a
  // short time passes, then close.
  void linger();
  void drain();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::array<char, 4096> drained_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::beast::http::response<boost::beast::http::string_body> response_;
  const Endpoint endpoint_;
  Routes& routes_;
  std::shared_ptr<Poster> poster_;
  std::function<void(Connection*)> on_close_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool closed_ = false;
};

}  // namespace keel::http

#endif  // KEEL_SERVICES_HTTP_CONNECTION_H_
