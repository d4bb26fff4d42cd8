// A Beast HTTP/1.1 session with timeouts on reads and writes (a client that stops mid-request
// is dropped) but none while /health waits for the member's read.
#include "http/connection.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <exception>

namespace keel::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

namespace {
// How long a request may take to arrive (and an idle keep-alive connection may stay), and a
// response to be written: Go's ReadHeaderTimeout guards the same thing.
constexpr std::chrono::seconds kIoTimeout{60};
// How long a connection being closed keeps reading what the client still sends (Go's
// rstAvoidanceDelay): closing with unread bytes makes the kernel send a reset, which can destroy
// the answer before the client reads it.
constexpr std::chrono::milliseconds kLingerTimeout{500};
// The endpoints take no body; more than this is refused as too large.
constexpr uint64_t kMaxBodyBytes = 64 * 1024;
// Past this many bytes of request line and headers the answer is Go's 431. Go's http.Server
// allows 1 MiB (plus 4 KiB); Beast's fields hold a value of under 64 KiB and throw past it, so
// keel stops at 64 KiB in all, which no single value can reach (Beast's default is 8 KiB).
constexpr uint32_t kMaxHeaderBytes = 64 * 1024;

// Go's answer to a request it cannot read, with the text it writes as the body.
Response unreadable_request(const beast::error_code& ec) {
  Response bad;
  bad.content_type = "text/plain; charset=utf-8";
  if (ec == bhttp::error::header_limit) {
    bad.status = 431;
    bad.body = "431 Request Header Fields Too Large";
  } else if (ec == bhttp::error::body_limit) {
    bad.status = 413;
    bad.body = "413 Request Entity Too Large";
  } else {
    bad.status = 400;
    bad.body = "400 Bad Request";
  }
  return bad;
}
}  // namespace

void Poster::post(std::function<void()> f) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ioc_ != nullptr) boost::asio::post(*ioc_, std::move(f));
}

void Poster::close() {
  std::lock_guard<std::mutex> lock(mu_);
  ioc_ = nullptr;
}

Connection::Connection(boost::asio::ip::tcp::socket socket, Endpoint endpoint, Routes& routes,
                       std::shared_ptr<Poster> poster, std::function<void(Connection*)> on_close)
    : stream_(std::move(socket)),
      endpoint_(endpoint),
      routes_(routes),
      poster_(std::move(poster)),
      on_close_(std::move(on_close)) {}

void Connection::start() { read(); }

void Connection::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  stream_.close();
  if (on_close_) on_close_(this);
}

void Connection::read() {
  parser_.emplace();
  parser_->body_limit(kMaxBodyBytes);
  parser_->header_limit(kMaxHeaderBytes);
  stream_.expires_after(kIoTimeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void Connection::on_read(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    // A malformed or oversized request gets Go's answer and the connection closes; a closed or
    // silent peer is just dropped.
    if (ec.category() == beast::error_code(bhttp::error::bad_target).category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      keep_alive_ = false;
      respond(unreadable_request(ec));
      return;
    }
    close();
    return;
  }
  const auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  Request request{std::string(req.method_string()), std::string(req.target())};
  stream_.expires_never();
  std::weak_ptr<Connection> weak = shared_from_this();
  std::shared_ptr<Poster> poster = poster_;
  try {
    routes_.handle(endpoint_, request, [weak, poster](Response response) {
      // May run on a node thread (a /health read): back to the I/O thread.
      poster->post([weak, response = std::move(response)]() mutable {
        if (std::shared_ptr<Connection> c = weak.lock()) c->respond(std::move(response));
      });
    });
  } catch (const std::exception&) {
    // A handler that threw (out of memory rendering /metrics) answers 500 and closes, rather
    // than leave the connection with no read, no timer and no answer.
    keep_alive_ = false;
    Response failed;
    failed.status = 500;
    failed.content_type = "text/plain; charset=utf-8";
    failed.body = "500 Internal Server Error";
    respond(std::move(failed));
  }
}

void Connection::respond(Response response) {
  if (closed_) return;
  response_ = {};
  response_.version(version_);
  response_.result(static_cast<unsigned>(response.status));
  if (endpoint_ == Endpoint::kClient) {
    // etcd's client handler allows browsers from anywhere.
    response_.set("Access-Control-Allow-Headers", "accept, content-type, authorization");
    response_.set("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE");
    response_.set("Access-Control-Allow-Origin", "*");
  }
  if (!response.content_type.empty()) response_.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) response_.set(name, value);
  response_.body() = std::move(response.body);
  response_.keep_alive(keep_alive_);
  response_.prepare_payload();
  stream_.expires_after(kIoTimeout);
  bhttp::async_write(stream_, response_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (self->closed_) return;
    if (ec) {
      self->close();
      return;
    }
    if (!self->keep_alive_) {
      self->linger();
      return;
    }
    self->read();
  });
}

void Connection::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTimeout);
  drain();
}

void Connection::drain() {
  stream_.async_read_some(boost::asio::buffer(drained_), [self = shared_from_this()](beast::error_code ec, size_t) {
    if (self->closed_) return;
    if (ec) {
      self->close();  // the client closed too, or the linger time is up
      return;
    }
    self->drain();
  });
}

}  // namespace keel::http
