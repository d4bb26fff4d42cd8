#include "grpc/unknown_method_service.h"

#include <cstdio>

namespace keel::grpcsvc {
namespace {

// Go's %q for the ASCII a method path holds: quoted, with quotes, backslashes and control bytes
// escaped.
std::string go_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// Finishes at once: nothing of the call is read.
class Refusal final : public grpc::ServerGenericBidiReactor {
 public:
  explicit Refusal(grpc::Status status) { Finish(std::move(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::Status unknown_method_status(std::string_view path, const std::set<std::string, std::less<>>& services) {
  std::string_view name = path;
  if (!name.empty() && name.front() == '/') name.remove_prefix(1);
  const size_t slash = name.rfind('/');
  if (slash == std::string_view::npos) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "malformed method name: " + go_quote(path));
  }
  const std::string_view service = name.substr(0, slash);
  const std::string_view method = name.substr(slash + 1);
  if (services.find(service) == services.end()) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "unknown service " + std::string(service));
  }
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "unknown method " + std::string(method) + " for service " + std::string(service));
}

grpc::ServerGenericBidiReactor* UnknownMethodService::CreateReactor(grpc::GenericCallbackServerContext* context) {
  return new Refusal(unknown_method_status(context->method(), services_));
}

}  // namespace keel::grpcsvc
