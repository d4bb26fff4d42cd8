// A request with a known field of the wrong wire type gets etcd's answer (gogoproto's unmarshal
// error, behind grpc-go's prefix), found at any depth; unknown field numbers are skipped, as etcd
// skips them; Go's field names are the .proto names in CamelCase.
#include "grpc/wire_check.h"

#include <gtest/gtest.h>

#include <string>

#include "etcdserverpb/rpc.pb.h"

namespace keel::grpcsvc {
namespace {

std::string varint_field(int number, uint8_t value) {
  return std::string{static_cast<char>(number << 3), static_cast<char>(value)};
}

std::string bytes_field(int number, const std::string& payload) {
  return std::string{static_cast<char>(number << 3 | 2), static_cast<char>(payload.size())} + payload;
}

template <typename M>
M parsed(const std::string& wire) {
  M m;
  EXPECT_TRUE(m.ParseFromString(wire));
  return m;
}

TEST(WireCheck, GoFieldNamesAreTheProtoNamesInCamelCase) {
  EXPECT_EQ(go_field_name("key"), "Key");
  EXPECT_EQ(go_field_name("range_end"), "RangeEnd");
  EXPECT_EQ(go_field_name("prev_kv"), "PrevKv");
  EXPECT_EQ(go_field_name("TTL"), "TTL");
  EXPECT_EQ(go_field_name("peerURLs"), "PeerURLs");
  EXPECT_EQ(go_field_name("request_range"), "RequestRange");
}

TEST(WireCheck, AWellEncodedRequestPasses) {
  etcdserverpb::RangeRequest r;
  r.set_key("a");
  r.set_limit(3);
  EXPECT_TRUE(check_wire_types(parsed<etcdserverpb::RangeRequest>(r.SerializeAsString())).ok());
  // A field number the message does not have is skipped, as gogoproto skips it.
  EXPECT_TRUE(check_wire_types(parsed<etcdserverpb::RangeRequest>(bytes_field(1, "a") + varint_field(15, 1))).ok());
}

TEST(WireCheck, AKnownFieldOfTheWrongWireTypeGetsEtcdsAnswer) {
  // Each as etcd 3.4.23 answered it.
  struct Case {
    grpc::Status status;
    const char* text;
  };
  for (const Case& c : {
           Case{check_wire_types(parsed<etcdserverpb::RangeRequest>(varint_field(1, 5))),
                "grpc: error unmarshalling request: proto: wrong wireType = 0 for field Key"},
           Case{check_wire_types(parsed<etcdserverpb::RangeRequest>(bytes_field(1, "a") + bytes_field(3, "a"))),
                "grpc: error unmarshalling request: proto: wrong wireType = 2 for field Limit"},
           Case{check_wire_types(parsed<etcdserverpb::PutRequest>(bytes_field(1, "a") + bytes_field(4, "a"))),
                "grpc: error unmarshalling request: proto: wrong wireType = 2 for field PrevKv"},
           Case{check_wire_types(parsed<etcdserverpb::LeaseGrantRequest>(bytes_field(1, "a"))),
                "grpc: error unmarshalling request: proto: wrong wireType = 2 for field TTL"},
           Case{check_wire_types(parsed<etcdserverpb::MemberAddRequest>(varint_field(1, 1))),
                "grpc: error unmarshalling request: proto: wrong wireType = 0 for field PeerURLs"},
           // Inside a txn's op: the inner message's field is named.
           Case{check_wire_types(parsed<etcdserverpb::TxnRequest>(bytes_field(2, bytes_field(1, varint_field(1, 5))))),
                "grpc: error unmarshalling request: proto: wrong wireType = 0 for field Key"},
       }) {
    EXPECT_EQ(c.status.error_code(), grpc::StatusCode::INTERNAL);
    EXPECT_EQ(c.status.error_message(), c.text);
  }
}

}  // namespace
}  // namespace keel::grpcsvc
