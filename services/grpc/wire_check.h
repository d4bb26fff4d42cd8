// etcd's request types are gogoproto's: a known field that arrives with another wire type (a
// varint where bytes belong) fails the unmarshal, and the call gets INTERNAL "grpc: error
// unmarshalling request: proto: wrong wireType = W for field F" (F: the Go field name), before
// anything else is checked. protobuf C++ keeps such a field as an unknown one instead, so keel
// looks, at every depth of a parsed request, for an unknown field whose number the message knows.
#ifndef KEEL_SERVICES_GRPC_WIRE_CHECK_H_
#define KEEL_SERVICES_GRPC_WIRE_CHECK_H_

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include <string>
#include <string_view>

namespace keel::grpcsvc {

// grpc-go's words before the unmarshal error: a unary call's, and a stream's (no colon).
inline constexpr std::string_view kUnaryUnmarshalPrefix = "grpc: error unmarshalling request: ";
inline constexpr std::string_view kStreamUnmarshalPrefix = "grpc: failed to unmarshal the received message ";

// OK, or etcd's INTERNAL answer naming the first such field (the message's own before those of
// the messages inside it), after `prefix`.
grpc::Status check_wire_types(const google::protobuf::Message& request,
                              std::string_view prefix = kUnaryUnmarshalPrefix);

// A proto field's name as Go's generated code spells it: prev_kv -> PrevKv, peerURLs -> PeerURLs.
std::string go_field_name(const std::string& proto_name);

}  // namespace keel::grpcsvc

#endif  // KEEL_SERVICES_GRPC_WIRE_CHECK_H_
