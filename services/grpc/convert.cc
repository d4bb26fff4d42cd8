// Protobuf <-> kernel structs, and keel::Status -> grpc::Status. The keel enums use etcd's numbers,
// so enum fields convert by value once the value is known to be in range.
#include "grpc/convert.h"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace keel::grpcsvc {
namespace {

// proto3 enums are open: a client may send any int32 and protobuf hands it through unchanged.
// The keel enums cannot hold such a value, so anything outside [0, max] gets `fallback`.
template <typename E>
E enum_or(int value, E max, E fallback) {
  if (value < 0 || value > static_cast<int>(max)) return fallback;
  return static_cast<E>(value);
}

// etcd 3.4 serves a sort order it does not know unsorted (its applier sorts only for ASCEND and
// DESCEND, and does not default that order to ASCEND for a target other than KEY): the plain
// key-ordered read, whatever the target. An unknown sort_target is refused at the API edge
// (kv_service.cc), since etcd 3.4 crashes on it; from_proto cannot fail, so what gets here is the
// same plain read.
mvcc::SortOrder sort_order_from(etcdserverpb::RangeRequest_SortOrder v) {
  return enum_or(static_cast<int>(v), mvcc::SortOrder::kDescend, mvcc::SortOrder::kNone);
}

mvcc::SortTarget sort_target_from(etcdserverpb::RangeRequest_SortTarget v) {
  return enum_or(static_cast<int>(v), mvcc::SortTarget::kValue, mvcc::SortTarget::kKey);
}

// etcd accepts unknown compare enums and evaluates them oddly (an unknown result always holds,
// an unknown target compares as equal); neither is expressible in keel's Compare and no etcd
// client sends them, so they fall back to the protobuf defaults, EQUAL and VERSION.
mvcc::Compare::Result compare_result_from(etcdserverpb::Compare_CompareResult v) {
  return enum_or(static_cast<int>(v), mvcc::Compare::Result::kNotEqual,
                 mvcc::Compare::Result::kEqual);
}

mvcc::Compare::Target compare_target_from(etcdserverpb::Compare_CompareTarget v) {
  return enum_or(static_cast<int>(v), mvcc::Compare::Target::kLease,
                 mvcc::Compare::Target::kVersion);
}

mvcc::Compare from_proto(const etcdserverpb::Compare& in) {
  mvcc::Compare out;
  out.result = compare_result_from(in.result());
  out.target = compare_target_from(in.target());
  out.key = in.key();
  out.range_end = in.range_end();
  // Only the member of target_union that was sent is set; the others stay 0/"". That is etcd's
  // behaviour too when target and the oneof disagree (target MOD with `version` set compares the
  // mod revision against 0), so no check is needed here.
  switch (in.target_union_case()) {
    case etcdserverpb::Compare::kVersion:
      out.version = in.version();
      break;
    case etcdserverpb::Compare::kCreateRevision:
      out.create_revision = in.create_revision();
      break;
    case etcdserverpb::Compare::kModRevision:
      out.mod_revision = in.mod_revision();
      break;
    case etcdserverpb::Compare::kValue:
      out.value = in.value();
      break;
    case etcdserverpb::Compare::kLease:
      out.lease = in.lease();
      break;
    case etcdserverpb::Compare::TARGET_UNION_NOT_SET:
      break;
  }
  return out;
}

// Recursion depth is bounded by protobuf's parser (100 nested messages by default), so a hostile
// client cannot overflow the stack here; server::kMaxTxnDepth is enforced after conversion.
mvcc::RequestOp from_proto(const etcdserverpb::RequestOp& in) {
  mvcc::RequestOp out;
  switch (in.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      out.request = grpcsvc::from_proto(in.request_range());
      break;
    case etcdserverpb::RequestOp::kRequestPut:
      out.request = grpcsvc::from_proto(in.request_put());
      break;
    case etcdserverpb::RequestOp::kRequestDeleteRange:
      out.request = grpcsvc::from_proto(in.request_delete_range());
      break;
    case etcdserverpb::RequestOp::kRequestTxn:
      out.request = mvcc::Box<mvcc::TxnRequest>(grpcsvc::from_proto(in.request_txn()));
      break;
    case etcdserverpb::RequestOp::REQUEST_NOT_SET:
      break;  // std::monostate: the store answers it with etcd's "key not found"
  }
  return out;
}

void to_proto(const mvcc::ResponseOp& in, etcdserverpb::ResponseOp* out) {
  // A monostate never comes out of the store (it refuses empty ops); it leaves the oneof unset.
  if (const auto* r = std::get_if<mvcc::RangeResponse>(&in.response)) {
    grpcsvc::to_proto(*r, out->mutable_response_range());
  } else if (const auto* p = std::get_if<mvcc::PutResponse>(&in.response)) {
    grpcsvc::to_proto(*p, out->mutable_response_put());
  } else if (const auto* d = std::get_if<mvcc::DeleteRangeResponse>(&in.response)) {
    grpcsvc::to_proto(*d, out->mutable_response_delete_range());
  } else if (const auto* t = std::get_if<mvcc::Box<mvcc::TxnResponse>>(&in.response)) {
    grpcsvc::to_proto(**t, out->mutable_response_txn());
  }
}

// etcd always sends a header, nested responses included (there with only the revision), so it is
// created even when the revision is 0.
void header_to_proto(const mvcc::ResponseHeader& in, etcdserverpb::ResponseHeader* out) {
  out->set_revision(in.revision);
}

}  // namespace

mvcc::RangeRequest from_proto(const etcdserverpb::RangeRequest& in) {
  mvcc::RangeRequest out;
  out.key = in.key();
  out.range_end = in.range_end();
  out.limit = in.limit();
  out.revision = in.revision();
  out.sort_order = sort_order_from(in.sort_order());
  out.sort_target = etcdserverpb::RangeRequest_SortOrder_IsValid(in.sort_order()) ? sort_target_from(in.sort_target())
                                                                                  : mvcc::SortTarget::kKey;
  out.serializable = in.serializable();
  out.keys_only = in.keys_only();
  out.count_only = in.count_only();
  out.min_mod_revision = in.min_mod_revision();
  out.max_mod_revision = in.max_mod_revision();
  out.min_create_revision = in.min_create_revision();
  out.max_create_revision = in.max_create_revision();
  return out;
}

mvcc::PutRequest from_proto(const etcdserverpb::PutRequest& in) {
  mvcc::PutRequest out;
  out.key = in.key();
  out.value = in.value();
  out.lease = in.lease();
  out.prev_kv = in.prev_kv();
  out.ignore_value = in.ignore_value();
  out.ignore_lease = in.ignore_lease();
  return out;
}

mvcc::DeleteRangeRequest from_proto(const etcdserverpb::DeleteRangeRequest& in) {
  mvcc::DeleteRangeRequest out;
  out.key = in.key();
  out.range_end = in.range_end();
  out.prev_kv = in.prev_kv();
  return out;
}

mvcc::TxnRequest from_proto(const etcdserverpb::TxnRequest& in) {
  mvcc::TxnRequest out;
  out.compare.reserve(in.compare_size());
  for (const auto& c : in.compare()) out.compare.push_back(from_proto(c));
  out.success.reserve(in.success_size());
  for (const auto& op : in.success()) out.success.push_back(from_proto(op));
  out.failure.reserve(in.failure_size());
  for (const auto& op : in.failure()) out.failure.push_back(from_proto(op));
  return out;
}

void to_proto(const KeyValue& in, mvccpb::KeyValue* out) {
  out->set_key(in.key);
  out->set_create_revision(in.create_revision);
  out->set_mod_revision(in.mod_revision);
  out->set_version(in.version);
  out->set_value(in.value);
  out->set_lease(in.lease);
}

namespace {

void move_to_proto(KeyValue&& in, mvccpb::KeyValue* out) {
  out->set_key(std::move(in.key));
  out->set_create_revision(in.create_revision);
  out->set_mod_revision(in.mod_revision);
  out->set_version(in.version);
  out->set_value(std::move(in.value));
  out->set_lease(in.lease);
}

}  // namespace

void to_proto(const Event& in, mvccpb::Event* out) {
  out->set_type(in.type == Event::Type::kDelete ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
  to_proto(in.kv, out->mutable_kv());
  // Absent, not empty: a watcher that did not ask for prev_kv must see no prev_kv field.
  if (in.prev_kv) to_proto(*in.prev_kv, out->mutable_prev_kv());
}

void to_proto(const mvcc::RangeResponse& in, etcdserverpb::RangeResponse* out) {
  header_to_proto(in.header, out->mutable_header());
  out->mutable_kvs()->Reserve(static_cast<int>(in.kvs.size()));
  for (const auto& kv : in.kvs) to_proto(kv, out->add_kvs());
  out->set_more(in.more);
  out->set_count(in.count);
}

void to_proto(mvcc::RangeResponse&& in, etcdserverpb::RangeResponse* out) {
  header_to_proto(in.header, out->mutable_header());
  out->mutable_kvs()->Reserve(static_cast<int>(in.kvs.size()));
  for (auto& kv : in.kvs) move_to_proto(std::move(kv), out->add_kvs());
  out->set_more(in.more);
  out->set_count(in.count);
}

void to_proto(const mvcc::PutResponse& in, etcdserverpb::PutResponse* out) {
  header_to_proto(in.header, out->mutable_header());
  // Absent when the key did not exist or prev_kv was not asked for, as etcd sends it.
  if (in.prev_kv) to_proto(*in.prev_kv, out->mutable_prev_kv());
}

void to_proto(const mvcc::DeleteRangeResponse& in, etcdserverpb::DeleteRangeResponse* out) {
  header_to_proto(in.header, out->mutable_header());
  out->set_deleted(in.deleted);
  out->mutable_prev_kvs()->Reserve(static_cast<int>(in.prev_kvs.size()));
  for (const auto& kv : in.prev_kvs) to_proto(kv, out->add_prev_kvs());
}

void to_proto(const mvcc::TxnResponse& in, etcdserverpb::TxnResponse* out) {
  header_to_proto(in.header, out->mutable_header());
  out->set_succeeded(in.succeeded);
  out->mutable_responses()->Reserve(static_cast<int>(in.responses.size()));
  for (const auto& r : in.responses) to_proto(r, out->add_responses());
}

grpc::Status to_grpc_status(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<int>(status.code());
  // keel's codes 0..16 are gRPC's by number (kNotSupported is UNIMPLEMENTED, kCorruption is
  // DATA_LOSS). The message goes out untouched: etcd's clients match on texts such as
  // "etcdserver: key not found".
  if (code <= static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    return grpc::Status(static_cast<grpc::StatusCode>(code), status.message());
  }
  // A failed write or fsync stops this member; to a client that is a member it cannot use, and
  // UNAVAILABLE makes etcd's clients retry on another endpoint.
  if (status.code() == Status::Code::kIOError) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, status.message());
  }
  // Not a code keel defines (a Status can cross the plugin boundary as raw bytes).
  return grpc::Status(grpc::StatusCode::UNKNOWN, status.message());
}

}  // namespace keel::grpcsvc
