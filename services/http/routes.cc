// Dispatch by path and method with the answers etcd's Go handlers give (net/http's ServeMux and
// http.Error texts, promhttp for /metrics).
#include "http/routes.h"

#include "server/version.h"

namespace keel::http {
namespace {

constexpr const char* kPlainText = "text/plain; charset=utf-8";

Response error_response(int status, const std::string& text) {
  // Go's http.Error: the text and a newline, never sniffed.
  Response r;
  r.status = status;
  r.content_type = kPlainText;
  r.body = text + "\n";
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  return r;
}

Response method_not_allowed() {
  Response r = error_response(405, "Method Not Allowed");
  r.headers.emplace_back("Allow", "GET");
  return r;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

void split_target(const std::string& target, std::string* path,
                  std::multimap<std::string, std::string>* query) {
  const size_t q = target.find('?');
  *path = target.substr(0, q);
  if (q == std::string::npos) return;
  std::string_view rest(target);
  rest.remove_prefix(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    query->emplace(unescape(pair.substr(0, eq)),
                   eq == std::string_view::npos ? std::string() : unescape(pair.substr(eq + 1)));
  }
}

Routes::Routes(server::Node& node, metrics::Registry& registry)
    : node_(node),
      registry_(registry),
      health_success_(registry.counter("etcd_server_health_success", "The total number of successful health checks")),
      health_failures_(registry.counter("etcd_server_health_failures", "The total number of failed health checks")),
      version_json_(std::string("{\"etcdserver\":\"") + server::kEtcdServerVersion + "\",\"etcdcluster\":\"" +
                    server::kEtcdClusterVersion + "\"}") {}

void Routes::handle(Endpoint endpoint, const Request& request, std::function<void(Response)> done) {
  std::string path;
  std::multimap<std::string, std::string> query;
  split_target(request.target, &path, &query);
  if (path == "/metrics") {
    // promhttp answers every method.
    Response r;
    r.content_type = metrics::kTextContentType;
    r.body = registry_.render();
    done(std::move(r));
    return;
  }
  if (path == "/health") {
    if (request.method != "GET") {
      done(method_not_allowed());
      return;
    }
    health(query, std::move(done));
    return;
  }
  if (path == "/version" && endpoint == Endpoint::kClient) {
    if (request.method != "GET") {
      done(method_not_allowed());
      return;
    }
    Response r;
    r.content_type = "application/json";
    r.body = version_json_;
    done(std::move(r));
    return;
  }
  done(error_response(404, "404 page not found"));
}

}  // namespace keel::http
