// HttpServer: the listeners, the sniffing of each client-URL connection (etcd's cmux), and the
// I/O thread.
//
// gRPC's C++ server cannot share a listening socket, so keel owns the client URLs' sockets: an
// accepted connection is peeked at (MSG_PEEK, nothing consumed) until its first bytes tell
// HTTP/2's client preface ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", which every gRPC client sends
// first) from an HTTP/1 request line; an HTTP/2 connection is handed over whole to gRPC, the
// rest are served here.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <future>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "http/connection.h"
#include "http/http.h"
#include "http/routes.h"

namespace keel::http {

namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

// Enough of HTTP/2's preface to tell it from any HTTP/1 request line.
constexpr std::string_view kPrefacePrefix = "PRI * HTTP/2.0";
// A client that sends only part of that prefix is looked at again after kSniffRetry; one that
// has not told itself apart within kSniffTimeout (silent, or still partial) is dropped, so idle
// port probes do not hold fds.
constexpr std::chrono::milliseconds kSniffRetry{5};
constexpr std::chrono::seconds kSniffTimeout{10};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(server::Node& node, metrics::Registry& registry, const HttpOptions& options)
      : routes_(node, registry),
        handoff_(options.grpc_handoff),
        logger_(options.logger),
        poster_(std::make_shared<Poster>(ioc_)),
        work_(net::make_work_guard(ioc_)) {}

  ~Impl() { shutdown(); }

  Status listen(const config::Url& url, Endpoint endpoint) {
    const std::string what = endpoint == Endpoint::kClient ? "clients" : "metrics";
    const std::string& address = url.text;
    boost::system::error_code ec;
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type found =
        resolver.resolve(url.host, std::to_string(url.port), tcp::resolver::passive, ec);
    if (ec || found.empty()) {
      return Status::Unavailable("cannot listen for " + what + " on " + address + ": " +
                                 (ec ? ec.message() : "no address"));
    }
    auto listener = std::make_unique<Listener>(ioc_, endpoint);
    // A name such as localhost may resolve to ::1 first; etcd (Go's net.Listen) takes the IPv4
    // address then, and so do clients given 127.0.0.1.
    tcp::endpoint at = found.begin()->endpoint();
    for (const auto& candidate : found) {
      if (candidate.endpoint().address().is_v4()) {
        at = candidate.endpoint();
        break;
      }
    }
    listener->acceptor.open(at.protocol(), ec);
    if (!ec) listener->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) listener->acceptor.bind(at, ec);
    if (!ec) listener->acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("cannot listen for " + what + " on " + address + ": " + ec.message());
    }
    listeners_.push_back(std::move(listener));
    return Status::OK();
  }

  void run() {
    for (auto& l : listeners_) accept(l.get());
    thread_ = std::thread([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          // A handler threw (allocation failure): the connection it served is lost, the rest go on.
          if (logger_ != nullptr) logger_->warn(std::string("http: ") + e.what());
        }
      }
    });
  }

  void shutdown() {
    if (!thread_.joinable()) return;
    poster_->close();
    std::promise<void> closed;
    net::post(ioc_, [this, &closed] {
      for (auto& l : listeners_) {
        boost::system::error_code ec;
        l->acceptor.close(ec);
        l->retry.cancel();
      }
      auto open = connections_;  // close() erases from connections_
      for (auto& [raw, c] : open) c->close();
      closed.set_value();
    });
    closed.get_future().wait();
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

 private:
  struct Listener {
    Listener(net::io_context& ioc, Endpoint e) : acceptor(ioc), retry(ioc), endpoint(e) {}
    tcp::acceptor acceptor;
    net::steady_timer retry;
    Endpoint endpoint;
  };
  // A client-URL connection not yet told HTTP/2 or HTTP/1.
  struct Sniffing {
    Sniffing(tcp::socket s, net::io_context& ioc)
        : socket(std::move(s)), timer(ioc), expiry(ioc), deadline(std::chrono::steady_clock::now() + kSniffTimeout) {}
    tcp::socket socket;
    net::steady_timer timer;   // the next look at a partial preface
    net::steady_timer expiry;  // drops a client silent for kSniffTimeout
    std::chrono::steady_clock::time_point deadline;
  };

  void start_sniffing(tcp::socket socket) {
    auto s = std::make_shared<Sniffing>(std::move(socket), ioc_);
    s->expiry.expires_at(s->deadline);
    s->expiry.async_wait([s](boost::system::error_code ec) {
      if (ec) return;  // told apart in time
      boost::system::error_code ignored;
      s->socket.close(ignored);
      s->timer.cancel();
    });
    sniff(std::move(s));
  }

  void accept(Listener* l) {
    l->acceptor.async_accept([this, l](boost::system::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !l->acceptor.is_open()) return;
      if (ec) {
        // Out of fds or the like: try again shortly rather than spin.
        l->retry.expires_after(std::chrono::milliseconds(50));
        l->retry.async_wait([this, l](boost::system::error_code e) {
          if (!e) accept(l);
        });
        return;
      }
      boost::system::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      if (l->endpoint == Endpoint::kClient) {
        start_sniffing(std::move(socket));
      } else {
        serve_http(std::move(socket), l->endpoint);
      }
      accept(l);
    });
  }

  void sniff(std::shared_ptr<Sniffing> s) {
    s->socket.async_wait(tcp::socket::wait_read, [this, s](boost::system::error_code ec) {
      if (ec) return;
      char buf[kPrefacePrefix.size()];
      const ssize_t n = ::recv(s->socket.native_handle(), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0) {  // closed before a byte
        s->expiry.cancel();
        return;
      }
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          sniff(s);
        } else {
          s->expiry.cancel();
        }
        return;
      }
      const std::string_view got(buf, static_cast<size_t>(n));
      if (got.size() < kPrefacePrefix.size() && kPrefacePrefix.substr(0, got.size()) == got) {
        // A prefix of the preface so far: wait for more (the bytes stay readable, so poll).
        if (std::chrono::steady_clock::now() >= s->deadline) return;  // the expiry closes it
        s->timer.expires_after(kSniffRetry);
        s->timer.async_wait([this, s](boost::system::error_code e) {
          if (!e) sniff(s);
        });
        return;
      }
      s->expiry.cancel();
      if (got == kPrefacePrefix) {
        hand_to_grpc(std::move(s->socket));
      } else {
        serve_http(std::move(s->socket), Endpoint::kClient);
      }
    });
  }

  void hand_to_grpc(tcp::socket socket) {
    boost::system::error_code ec;
    const int fd = socket.release(ec);
    if (ec) return;
    // gRPC drives the fd with its own poller and expects it non-blocking.
    const int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    if (handoff_) {
      handoff_(fd);
    } else {
      ::close(fd);
    }
  }

  void serve_http(tcp::socket socket, Endpoint endpoint) {
    auto c = std::make_shared<Connection>(std::move(socket), endpoint, routes_, poster_,
                                          [this](Connection* done) { connections_.erase(done); });
    connections_.emplace(c.get(), c);
    c->start();
  }

  // Declared first: destroyed last, after every socket and timer that refers to it.
  net::io_context ioc_;
  Routes routes_;
  std::function<void(int)> handoff_;
  Logger* logger_;
  std::shared_ptr<Poster> poster_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections_;  // the I/O thread's
  std::thread thread_;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { shutdown(); }

void HttpServer::shutdown() {
  if (impl_ != nullptr) impl_->shutdown();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(server::Node& node, metrics::Registry& registry,
                                                      const HttpOptions& options) {
  // Boost reports allocation and system failures by exceptions: none leaves this module.
  try {
    auto impl = std::make_unique<Impl>(node, registry, options);
    for (const auto& u : options.client_urls) KEEL_RETURN_IF_ERROR(impl->listen(u, Endpoint::kClient));
    for (const auto& u : options.metrics_urls) KEEL_RETURN_IF_ERROR(impl->listen(u, Endpoint::kMetrics));
    impl->run();
    return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot serve HTTP: ") + e.what());
  }
}

}  // namespace keel::http
