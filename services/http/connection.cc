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
// The endpoints take no body; more than this is refused as too large.
constexpr uint64_t kMaxBodyBytes = 64 * 1024;
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
  stream_.expires_after(kIoTimeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void Connection::on_read(beast::error_code ec) {
  if (closed_) return;
  if (ec) {
    // A malformed request gets Go's 400 and the connection closes; a closed or silent peer is
    // just dropped.
    if (ec.category() == beast::error_code(bhttp::error::bad_target).category() && ec != bhttp::error::end_of_stream &&
        ec != bhttp::error::partial_message) {
      keep_alive_ = false;
      Response bad;
      bad.status = ec == bhttp::error::body_limit ? 413 : 400;
      bad.content_type = "text/plain; charset=utf-8";
      bad.body = bad.status == 413 ? "413 Request Entity Too Large" : "400 Bad Request";
      respond(std::move(bad));
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
    if (ec || !self->keep_alive_) {
      self->close();
      return;
    }
    self->read();
  });
}

}  // namespace keel::http
