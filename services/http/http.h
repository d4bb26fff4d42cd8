// services/http: etcd's HTTP endpoints, and the client URLs' listener that shares each port
// between them and gRPC (etcd's cmux).
//
//   HttpServer              binds the client URLs and --listen-metrics-urls; on a client URL it
//                           peeks at each connection's first bytes: HTTP/2's preface goes to
//                           gRPC (HttpOptions::grpc_handoff, e.g. ClientServer::adopt), anything
//                           else is HTTP/1.1 served here
//   /health                 etcd's {"health":"true"} (200) or {"health":"false","reason":...}
//                           (503): no alarm raised (Node::alarms; ?exclude=NOSPACE ignores
//                           one), a leader, and a
//                           linearizable read through Node::read_barrier (?serializable=true:
//                           a local read, and no leader needed)
//   /version                {"etcdserver":"3.4.0","etcdcluster":"3.4.0"} (client URLs only)
//   /metrics                the metrics::Registry in Prometheus's text format
//   register_member_metrics the member's gauges computed at scrape time from Node's public API
//                           (member_metrics.h)
//
// Unknown paths answer 404 and a wrong method 405 with etcd's texts. TLS is not built (keeld
// refuses https URLs before starting this).
//
// Threads: one I/O thread runs every connection (the endpoints are light; a /health waiting for
// its read holds no thread). Thread safety: start and shutdown from one thread.
#ifndef KEEL_SERVICES_HTTP_HTTP_H_
#define KEEL_SERVICES_HTTP_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/url.h"
#include "keel/logger.h"
#include "keel/status.h"
#include "metrics/metrics.h"
#include "server/node.h"

namespace keel::http {

struct HttpOptions {
  std::vector<config::Url> client_urls;   // HTTP/1.1 and gRPC (HTTP/2) shared
  std::vector<config::Url> metrics_urls;  // /health and /metrics alone
  // Takes each client-URL connection that began with HTTP/2's preface (nothing of it read yet);
  // the callee owns the fd. Runs on the I/O thread; must not block. Null: such connections are
  // closed.
  std::function<void(int fd)> grpc_handoff;
  Logger* logger = nullptr;  // not owned; null: quiet
};

class HttpServer {
 public:
  // Binds every address and starts serving. Unavailable naming the address when one cannot be
  // bound. `node` and `registry` outlive the server.
  static Result<std::unique_ptr<HttpServer>> start(server::Node& node, metrics::Registry& registry,
                                                   const HttpOptions& options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Closes the listeners and every connection, and joins the I/O thread. /health checks still
  // waiting on the node are dropped. Idempotent; also done by the destructor.
  void shutdown();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace keel::http

#endif  // KEEL_SERVICES_HTTP_HTTP_H_
