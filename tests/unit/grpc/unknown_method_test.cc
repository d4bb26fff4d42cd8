// grpc-go's answers to a call nobody serves (services/grpc/unknown_method_service.h), by path.
#include "grpc/unknown_method_service.h"

#include <gtest/gtest.h>

namespace keel::grpcsvc {
namespace {

const std::set<std::string, std::less<>> kServices = {"etcdserverpb.KV", "etcdserverpb.Watch"};

std::pair<grpc::StatusCode, std::string> answer(std::string_view path) {
  grpc::Status s = unknown_method_status(path, kServices);
  return {s.error_code(), s.error_message()};
}

TEST(UnknownMethod, NamesTheServiceOrTheMethodAsGrpcGoDoes) {
  EXPECT_EQ(answer("/etcdserverpb.KV/Nope"),
            std::make_pair(grpc::StatusCode::UNIMPLEMENTED, std::string("unknown method Nope for service etcdserverpb.KV")));
  EXPECT_EQ(answer("/etcdserverpb.Auth/UserList"),
            std::make_pair(grpc::StatusCode::UNIMPLEMENTED, std::string("unknown service etcdserverpb.Auth")));
  // A nested path: the service is everything before the last slash, as grpc-go splits it.
  EXPECT_EQ(answer("/a/b/c"), std::make_pair(grpc::StatusCode::UNIMPLEMENTED, std::string("unknown service a/b")));
}

TEST(UnknownMethod, AMalformedNameIsQuotedAsGoQuotesIt) {
  EXPECT_EQ(answer("/nomethod"),
            std::make_pair(grpc::StatusCode::UNIMPLEMENTED, std::string("malformed method name: \"/nomethod\"")));
  EXPECT_EQ(answer("/x\"y\\\x01"),
            std::make_pair(grpc::StatusCode::UNIMPLEMENTED, std::string("malformed method name: \"/x\\\"y\\\\\\x01\"")));
}

}  // namespace
}  // namespace keel::grpcsvc
