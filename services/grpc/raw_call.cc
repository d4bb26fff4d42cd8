#include "grpc/raw_call.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>
#include <grpcpp/support/proto_buffer_writer.h>

#include <array>
#include <string_view>

#include "grpc/unparsed_request_interceptor.h"
#include "grpc/wire_check.h"

namespace keel::grpcsvc {

bool is_raw_method(const char* path) {
  static constexpr std::array<std::string_view, 5> kRaw = {
      "/etcdserverpb.KV/Range", "/etcdserverpb.KV/Put", "/etcdserverpb.KV/DeleteRange",
      "/etcdserverpb.KV/Txn", "/etcdserverpb.KV/Compact"};
  if (path == nullptr) return false;
  for (std::string_view raw : kRaw) {
    if (raw == path) return true;
  }
  return false;
}

RawCall::RawCall(grpc::CallbackServerContext* context, grpc::ByteBuffer* response,
                 const GrpcMetrics::Method* measured)
    : reactor_(context->DefaultReactor()), response_(response), measured_(measured) {
  if (measured_ != nullptr) measured_->started->inc();
}

bool RawCall::parse(const grpc::ByteBuffer* request, google::protobuf::Message* out) {
  // The reader consumes its buffer; the copy shares the request's slices.
  grpc::ByteBuffer bytes(*request);
  if (!grpc::GenericDeserialize<grpc::ProtoBufferReader, google::protobuf::MessageLite>(&bytes, out)
           .ok()) {
    finish(grpc::Status(grpc::StatusCode::INTERNAL, kUnparsedRequestText));
    return false;
  }
  if (grpc::Status misencoded = check_wire_types(*out); !misencoded.ok()) {
    finish(misencoded);
    return false;
  }
  if (measured_ != nullptr) measured_->received->inc();
  return true;
}

void RawCall::finish(const google::protobuf::MessageLite& response) {
  bool own_buffer = false;
  grpc::Status serialized =
      grpc::GenericSerialize<grpc::ProtoBufferWriter, google::protobuf::MessageLite>(
          response, response_, &own_buffer);
  if (!serialized.ok()) return finish(serialized);
  if (measured_ != nullptr) measured_->sent->inc();
  count_handled(grpc::StatusCode::OK);
  reactor_->Finish(grpc::Status::OK);
}

void RawCall::finish(const grpc::Status& status) {
  count_handled(status.error_code());
  reactor_->Finish(status);
}

void RawCall::count_handled(grpc::StatusCode code) const {
  if (measured_ != nullptr) measured_->handled_with(code).inc();
}

}  // namespace keel::grpcsvc
