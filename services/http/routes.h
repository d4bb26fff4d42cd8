// The endpoints behind the listener, free of Beast: a request's method and target in, a
// response out (at once, or later for /health, which waits for a read of the member).
// Internal to services/http.
#ifndef KEEL_SERVICES_HTTP_ROUTES_H_
#define KEEL_SERVICES_HTTP_ROUTES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http/http.h"

namespace keel::http {

struct Request {
  std::string method;  // "GET", ...
  std::string target;  // path and query: "/health?serializable=true"
};

struct Response {
  int status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type
};

// Which listener a request came in on: the client URLs serve every endpoint, the metrics URLs
// /health and /metrics alone (as etcd's).
enum class Endpoint { kClient, kMetrics };

// Splits a target into its path and its query parameters (percent- and '+'-decoded; a name may
// repeat).
void split_target(const std::string& target, std::string* path,
                  std::multimap<std::string, std::string>* query);

class Routes {
 public:
  Routes(server::Node& node, metrics::Registry& registry);

  // Answers `request` through `done`, at once or from a node thread (for /health); `done` is
  // called exactly once.
  void handle(Endpoint endpoint, const Request& request, std::function<void(Response)> done);

 private:
  void health(const std::multimap<std::string, std::string>& query, std::function<void(Response)> done);

  server::Node& node_;
  metrics::Registry& registry_;
  metrics::Counter& health_success_;
  metrics::Counter& health_failures_;
  std::string version_json_;
};

}  // namespace keel::http

#endif  // KEEL_SERVICES_HTTP_ROUTES_H_
