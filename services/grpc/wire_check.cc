#include "grpc/wire_check.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/unknown_field_set.h>

#include <cctype>
#include <vector>


namespace keel::grpcsvc {
namespace {

// The wire type an unknown field came with, as the protobuf encoding numbers it.
int wire_type(const google::protobuf::UnknownField& f) {
  switch (f.type()) {
    case google::protobuf::UnknownField::TYPE_VARINT: return 0;
    case google::protobuf::UnknownField::TYPE_FIXED64: return 1;
    case google::protobuf::UnknownField::TYPE_LENGTH_DELIMITED: return 2;
    case google::protobuf::UnknownField::TYPE_GROUP: return 3;
    case google::protobuf::UnknownField::TYPE_FIXED32: return 5;
  }
  return -1;
}

}  // namespace

std::string go_field_name(const std::string& proto_name) {
  std::string out;
  bool upper = true;
  for (char c : proto_name) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out;
}

grpc::Status check_wire_types(const google::protobuf::Message& request, std::string_view prefix) {
  const google::protobuf::Reflection* reflection = request.GetReflection();
  const google::protobuf::Descriptor* descriptor = request.GetDescriptor();
  const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(request);
  for (int i = 0; i < unknown.field_count(); ++i) {
    const google::protobuf::UnknownField& f = unknown.field(i);
    const google::protobuf::FieldDescriptor* known = descriptor->FindFieldByNumber(f.number());
    if (known == nullptr) continue;  // a field this message does not have: skipped, as etcd does
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        std::string(prefix) + "proto: wrong wireType = " + std::to_string(wire_type(f)) +
                            " for field " + go_field_name(known->name()));
  }
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(request, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(request, field); ++i) {
        grpc::Status s = check_wire_types(reflection->GetRepeatedMessage(request, field, i), prefix);
        if (!s.ok()) return s;
      }
    } else {
      grpc::Status s = check_wire_types(reflection->GetMessage(request, field), prefix);
      if (!s.ok()) return s;
    }
  }
  return grpc::Status::OK;
}

}  // namespace keel::grpcsvc
