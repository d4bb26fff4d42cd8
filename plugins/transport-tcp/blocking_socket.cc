#include "blocking_socket.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace keel::tcp {

namespace {

Status errno_status(const char* what, int err) {
  return Status::Unavailable(std::string(what) + ": " + std::strerror(err));
}

void set_blocking(int fd, bool blocking) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags < 0) return;
  ::fcntl(fd, F_SETFL, blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK));
}

}  // namespace

Status send_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno_status("send", errno);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

Result<size_t> recv_some(int fd, char* buf, size_t n) {
  for (;;) {
    ssize_t r = ::recv(fd, buf, n, 0);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno != EINTR) return errno_status("recv", errno);
  }
}

Status recv_all(int fd, char* buf, size_t n) {
  while (n > 0) {
    Result<size_t> r = recv_some(fd, buf, n);
    if (!r.ok()) return r.status();
    if (*r == 0) return Status::Unavailable("the connection closed early");
    buf += *r;
    n -= *r;
  }
  return Status::OK();
}

namespace {

// Waits until `fd` is ready for `events`; Unavailable once `deadline` passes first.
Status wait_ready(int fd, short events, Deadline deadline, const char* what) {
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Status::Unavailable(std::string(what) + ": timed out");
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX)));
    if (n > 0) return Status::OK();  // ready, or an error the next call reports
    if (n < 0 && errno != EINTR) return errno_status("poll", errno);
  }
}

}  // namespace

Status send_all(int fd, const char* data, size_t n, Deadline deadline) {
  while (n > 0) {
    // MSG_DONTWAIT: a blocking send would wait for room past the deadline.
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_status("send", errno);
      KEEL_RETURN_IF_ERROR(wait_ready(fd, POLLOUT, deadline, "send"));
      continue;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

Status recv_all(int fd, char* buf, size_t n, Deadline deadline) {
  while (n > 0) {
    KEEL_RETURN_IF_ERROR(wait_ready(fd, POLLIN, deadline, "recv"));
    ssize_t r = ::recv(fd, buf, n, MSG_DONTWAIT);
    if (r < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return errno_status("recv", errno);
    }
    if (r == 0) return Status::Unavailable("the connection closed early");
    buf += r;
    n -= static_cast<size_t>(r);
  }
  return Status::OK();
}

void drain(int fd, std::chrono::milliseconds limit) {
  ::shutdown(fd, SHUT_WR);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char sink[16 << 10];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) < 0 && errno != EINTR) return;
    if ((p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    Result<size_t> r = recv_some(fd, sink, sizeof(sink));
    if (!r.ok() || *r == 0) return;
  }
}

bool readable_now(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0;
}

Result<int> connect_blocking(const PeerUrl& url, std::chrono::milliseconds timeout,
                             const SocketHooks& hooks) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(url.port);
  int rc = ::getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) return Status::Unavailable("cannot resolve " + url.host + ": " + ::gai_strerror(rc));
  Status last = Status::Unavailable("no address for " + url.host);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = errno_status("socket", errno);
      continue;
    }
    if (!hooks.adopt(fd)) {
      ::close(fd);
      ::freeaddrinfo(found);
      return Status::Cancelled("the transport is stopping");
    }
    auto give_up = [&](Status s) {
      hooks.forget(fd);
      ::close(fd);
      last = std::move(s);
    };
    set_blocking(fd, false);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      give_up(errno_status("connect", errno));
      continue;
    }
    bool connected = false;
    Status attempt = Status::Unavailable("connect: timed out");
    for (;;) {
      if (hooks.cancelled()) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd, POLLOUT, 0};
      int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 100)));
      if (n < 0 && errno != EINTR) break;
      if (n > 0) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          attempt = errno_status("connect", err);
        } else {
          connected = true;
        }
        break;
      }
    }
    if (!connected) {
      if (hooks.cancelled()) {
        give_up(Status::Cancelled("the transport is stopping"));
        break;
      }
      give_up(attempt);
      continue;
    }
    set_blocking(fd, true);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::freeaddrinfo(found);
    return fd;
  }
  ::freeaddrinfo(found);
  return last;
}

}  // namespace keel::tcp
