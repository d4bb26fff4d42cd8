// The bytes written here are specified in docs/format/requests.md. WALs already on disk must keep
// decoding, so a change to the layout needs a new kRequestFormat, not an edit in place.
#include "server/request_codec.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <string_view>
#include <variant>
#include <vector>

namespace keel::server {
namespace {

using Body = decltype(InternalRequest::body);
using Op = decltype(mvcc::RequestOp::request);

// The tags are the variants' indices. The asserts pin each one to its type, so reordering a
// variant breaks the build rather than silently changing what old WAL entries mean.
constexpr uint8_t kBodyPut = 0;
constexpr uint8_t kBodyDeleteRange = 1;
constexpr uint8_t kBodyTxn = 2;
constexpr uint8_t kBodyCompaction = 3;
constexpr uint8_t kBodyLeaseGrant = 4;
constexpr uint8_t kBodyLeaseRevoke = 5;
constexpr uint8_t kBodyLeaseCheckpoint = 6;
constexpr uint8_t kBodyAlarm = 7;
constexpr uint8_t kBodyMemberAttributes = 8;
constexpr uint8_t kBodyMemberUpdate = 9;
static_assert(std::is_same_v<std::variant_alternative_t<kBodyPut, Body>, mvcc::PutRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kBodyDeleteRange, Body>, mvcc::DeleteRangeRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kBodyTxn, Body>, mvcc::TxnRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kBodyCompaction, Body>, CompactionRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kBodyLeaseGrant, Body>, LeaseGrantRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kBodyLeaseRevoke, Body>, LeaseRevokeRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kBodyLeaseCheckpoint, Body>,
                             LeaseCheckpointRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kBodyAlarm, Body>, AlarmRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kBodyMemberAttributes, Body>,
                             MemberAttributesRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kBodyMemberUpdate, Body>, MemberUpdateRequest>);
static_assert(std::variant_size_v<Body> == 10, "a new body kind needs a tag and docs");

constexpr uint8_t kOpEmpty = 0;
constexpr uint8_t kOpRange = 1;
constexpr uint8_t kOpPut = 2;
constexpr uint8_t kOpDeleteRange = 3;
constexpr uint8_t kOpTxn = 4;
static_assert(std::is_same_v<std::variant_alternative_t<kOpEmpty, Op>, std::monostate>);
static_assert(std::is_same_v<std::variant_alternative_t<kOpRange, Op>, mvcc::RangeRequest>);
static_assert(std::is_same_v<std::variant_alternative_t<kOpPut, Op>, mvcc::PutRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kOpDeleteRange, Op>, mvcc::DeleteRangeRequest>);
static_assert(
    std::is_same_v<std::variant_alternative_t<kOpTxn, Op>, mvcc::Box<mvcc::TxnRequest>>);
static_assert(std::variant_size_v<Op> == 5, "a new op kind needs a tag and docs");

// Decoding recurses once per nested Txn; kMaxTxnDepth (request_codec.h) keeps a crafted entry
// from exhausting the stack. Documented in docs/format/requests.md.

// The fewest bytes one element of each counted list can take (every field at its shortest), so a
// declared count is checked against the bytes left before anything is reserved for it.
constexpr size_t kMinCompareBytes = 9;     // 2 enums, 3 empty strings, 4 one-byte varints
constexpr size_t kMinRequestOpBytes = 1;   // the tag of an empty op
constexpr size_t kMinCheckpointBytes = 2;  // two one-byte varints
constexpr size_t kMinUrlBytes = 1;         // an empty string's length

// ---- encoding ----

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

// Zigzag, so small negative numbers (e.g. a revision of -1) stay short.
void put_signed(std::string* out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_bytes(std::string* out, std::string_view bytes) {
  put_varint(out, bytes.size());
  out->append(bytes);
}

void put_bool(std::string* out, bool v) { out->push_back(v ? '\1' : '\0'); }

template <typename E>
void put_enum(std::string* out, E v) {
  static_assert(std::is_same_v<std::underlying_type_t<E>, uint8_t>, "enums are one byte");
  out->push_back(static_cast<char>(static_cast<uint8_t>(v)));
}

void encode_range(const mvcc::RangeRequest& r, std::string* out) {
  put_bytes(out, r.key);
  put_bytes(out, r.range_end);
  put_signed(out, r.limit);
  put_signed(out, r.revision);
  put_enum(out, r.sort_order);
  put_enum(out, r.sort_target);
  put_bool(out, r.serializable);
  put_bool(out, r.keys_only);
  put_bool(out, r.count_only);
  put_signed(out, r.min_mod_revision);
  put_signed(out, r.max_mod_revision);
  put_signed(out, r.min_create_revision);
  put_signed(out, r.max_create_revision);
}

void encode_put(const mvcc::PutRequest& r, std::string* out) {
  put_bytes(out, r.key);
  put_bytes(out, r.value);
  put_signed(out, r.lease);
  put_bool(out, r.prev_kv);
  put_bool(out, r.ignore_value);
  put_bool(out, r.ignore_lease);
}

void encode_delete_range(const mvcc::DeleteRangeRequest& r, std::string* out) {
  put_bytes(out, r.key);
  put_bytes(out, r.range_end);
  put_bool(out, r.prev_kv);
}

void encode_compare(const mvcc::Compare& c, std::string* out) {
  put_enum(out, c.result);
  put_enum(out, c.target);
  put_bytes(out, c.key);
  put_bytes(out, c.range_end);
  put_signed(out, c.version);
  put_signed(out, c.create_revision);
  put_signed(out, c.mod_revision);
  put_bytes(out, c.value);
  put_signed(out, c.lease);
}

void encode_txn(const mvcc::TxnRequest& txn, std::string* out);

void encode_op(const mvcc::RequestOp& op, std::string* out) {
  out->push_back(static_cast<char>(op.request.index()));
  switch (op.request.index()) {
    case kOpEmpty: break;
    case kOpRange: encode_range(std::get<kOpRange>(op.request), out); break;
    case kOpPut: encode_put(std::get<kOpPut>(op.request), out); break;
    case kOpDeleteRange: encode_delete_range(std::get<kOpDeleteRange>(op.request), out); break;
    case kOpTxn: encode_txn(*std::get<kOpTxn>(op.request), out); break;
  }
}

// Recursion here is bounded by the caller's in-memory value, not by untrusted bytes. A Txn deeper
// than kMaxTxnDepth still encodes, but no member could decode it: the proposer must refuse it.
void encode_txn(const mvcc::TxnRequest& txn, std::string* out) {
  put_varint(out, txn.compare.size());
  for (const mvcc::Compare& c : txn.compare) encode_compare(c, out);
  put_varint(out, txn.success.size());
  for (const mvcc::RequestOp& op : txn.success) encode_op(op, out);
  put_varint(out, txn.failure.size());
  for (const mvcc::RequestOp& op : txn.failure) encode_op(op, out);
}

// ---- decoding ----

// Reads fields from the front of the input. Each read checks what is left first and returns false
// on garbage, keeping the first error (with the field's byte offset, for whoever reads a broken
// WAL) for decode_request to return.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in), size_(in.size()) {}

  bool empty() const { return in_.empty(); }
  size_t offset() const { return size_ - in_.size(); }
  const std::string& error() const { return error_; }

  bool fail(size_t at, std::string what) {
    error_ = "request: " + std::move(what) + " at byte " + std::to_string(at);
    return false;
  }

  bool byte(uint8_t* v, const char* what) {
    if (in_.empty()) return fail(offset(), std::string("truncated ") + what);
    *v = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }

  // LEB128, shortest form only: with one encoding per value, every input that decodes re-encodes
  // to the same bytes, so entries can be compared or hashed as bytes.
  bool varint(uint64_t* v, const char* what) {
    const size_t start = offset();
    uint64_t result = 0;
    for (int shift = 0;; shift += 7) {
      if (in_.empty()) return fail(start, std::string("truncated ") + what);
      const auto b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      if (shift == 63 && b > 1) return fail(start, std::string(what) + " overflows 64 bits");
      if (b == 0 && shift > 0) return fail(start, std::string(what) + " is an over-long varint");
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
  }

  bool signed_varint(int64_t* v, const char* what) {
    uint64_t u;
    if (!varint(&u, what)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }

  bool bytes(std::string* v, const char* what) {
    const size_t start = offset();
    uint64_t n;
    if (!varint(&n, what)) return false;
    if (n > in_.size()) {
      return fail(start,
                  std::string(what) + " of " + std::to_string(n) + " bytes runs past the end");
    }
    v->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }

  // Only 0 and 1: any other byte is damage, not "true".
  bool boolean(bool* v, const char* what) {
    const size_t start = offset();
    uint8_t b;
    if (!byte(&b, what)) return false;
    if (b > 1) return fail(start, std::string(what) + " is not a bool (" + std::to_string(b) + ")");
    *v = b == 1;
    return true;
  }

  // `last` is the enum's highest value; every enum here is dense from 0. A value past it may be
  // from a newer format this build does not know, and is refused rather than guessed at.
  template <typename E>
  bool enumeration(E* v, E last, const char* what) {
    const size_t start = offset();
    uint8_t b;
    if (!byte(&b, what)) return false;
    if (b > static_cast<uint8_t>(last)) {
      return fail(start, std::string(what) + " out of range (" + std::to_string(b) + ")");
    }
    *v = static_cast<E>(b);
    return true;
  }

  // A list's length, refused when even elements of `min_bytes` each could not fit in what is left:
  // a declared count of 2^60 must not become a 2^60-element reserve.
  bool count(size_t* n, size_t min_bytes, const char* what) {
    const size_t start = offset();
    uint64_t v;
    if (!varint(&v, what)) return false;
    if (v > in_.size() / min_bytes) {
      return fail(start, std::string(what) + " of " + std::to_string(v) +
                             " exceeds the bytes left (" + std::to_string(in_.size()) + ")");
    }
    *n = static_cast<size_t>(v);
    return true;
  }

 private:
  std::string_view in_;
  size_t size_;
  std::string error_;
};

bool decode_range(Reader& r, mvcc::RangeRequest* v) {
  return r.bytes(&v->key, "range key") && r.bytes(&v->range_end, "range range_end") &&
         r.signed_varint(&v->limit, "range limit") &&
         r.signed_varint(&v->revision, "range revision") &&
         r.enumeration(&v->sort_order, mvcc::SortOrder::kDescend, "range sort_order") &&
         r.enumeration(&v->sort_target, mvcc::SortTarget::kValue, "range sort_target") &&
         r.boolean(&v->serializable, "range serializable") &&
         r.boolean(&v->keys_only, "range keys_only") &&
         r.boolean(&v->count_only, "range count_only") &&
         r.signed_varint(&v->min_mod_revision, "range min_mod_revision") &&
         r.signed_varint(&v->max_mod_revision, "range max_mod_revision") &&
         r.signed_varint(&v->min_create_revision, "range min_create_revision") &&
         r.signed_varint(&v->max_create_revision, "range max_create_revision");
}

bool decode_put(Reader& r, mvcc::PutRequest* v) {
  return r.bytes(&v->key, "put key") && r.bytes(&v->value, "put value") &&
         r.signed_varint(&v->lease, "put lease") && r.boolean(&v->prev_kv, "put prev_kv") &&
         r.boolean(&v->ignore_value, "put ignore_value") &&
         r.boolean(&v->ignore_lease, "put ignore_lease");
}

bool decode_delete_range(Reader& r, mvcc::DeleteRangeRequest* v) {
  return r.bytes(&v->key, "delete_range key") &&
         r.bytes(&v->range_end, "delete_range range_end") &&
         r.boolean(&v->prev_kv, "delete_range prev_kv");
}

bool decode_compare(Reader& r, mvcc::Compare* v) {
  return r.enumeration(&v->result, mvcc::Compare::Result::kNotEqual, "compare result") &&
         r.enumeration(&v->target, mvcc::Compare::Target::kLease, "compare target") &&
         r.bytes(&v->key, "compare key") && r.bytes(&v->range_end, "compare range_end") &&
         r.signed_varint(&v->version, "compare version") &&
         r.signed_varint(&v->create_revision, "compare create_revision") &&
         r.signed_varint(&v->mod_revision, "compare mod_revision") &&
         r.bytes(&v->value, "compare value") && r.signed_varint(&v->lease, "compare lease");
}

bool decode_txn(Reader& r, mvcc::TxnRequest* v, int depth);

bool decode_op(Reader& r, mvcc::RequestOp* v, int depth) {
  const size_t start = r.offset();
  uint8_t tag;
  if (!r.byte(&tag, "op tag")) return false;
  switch (tag) {
    case kOpEmpty: return true;  // RequestOp's default is already the monostate
    case kOpRange: return decode_range(r, &v->request.emplace<kOpRange>());
    case kOpPut: return decode_put(r, &v->request.emplace<kOpPut>());
    case kOpDeleteRange: return decode_delete_range(r, &v->request.emplace<kOpDeleteRange>());
    case kOpTxn:
      if (depth >= kMaxTxnDepth) {
        return r.fail(start, "txn nested deeper than " + std::to_string(kMaxTxnDepth));
      }
      return decode_txn(r, &*v->request.emplace<kOpTxn>(), depth + 1);
  }
  return r.fail(start, "unknown op tag " + std::to_string(tag));
}

bool decode_ops(Reader& r, std::vector<mvcc::RequestOp>* ops, int depth, const char* what) {
  size_t n;
  if (!r.count(&n, kMinRequestOpBytes, what)) return false;
  ops->resize(n);
  for (mvcc::RequestOp& op : *ops) {
    if (!decode_op(r, &op, depth)) return false;
  }
  return true;
}

// `depth` is this Txn's own nesting level, 1 for a top-level body.
bool decode_txn(Reader& r, mvcc::TxnRequest* v, int depth) {
  size_t n;
  if (!r.count(&n, kMinCompareBytes, "txn compare count")) return false;
  v->compare.resize(n);
  for (mvcc::Compare& c : v->compare) {
    if (!decode_compare(r, &c)) return false;
  }
  return decode_ops(r, &v->success, depth, "txn success count") &&
         decode_ops(r, &v->failure, depth, "txn failure count");
}

bool decode_lease_checkpoint(Reader& r, LeaseCheckpointRequest* v) {
  size_t n;
  if (!r.count(&n, kMinCheckpointBytes, "lease_checkpoint count")) return false;
  v->checkpoints.resize(n);
  for (lease::LeaseCheckpoint& c : v->checkpoints) {
    if (!r.signed_varint(&c.id, "lease_checkpoint id") ||
        !r.signed_varint(&c.remaining_ttl, "lease_checkpoint remaining_ttl")) {
      return false;
    }
  }
  return true;
}

bool decode_body(Reader& r, Body* body) {
  const size_t start = r.offset();
  uint8_t tag;
  if (!r.byte(&tag, "body tag")) return false;
  switch (tag) {
    case kBodyPut: return decode_put(r, &body->emplace<kBodyPut>());
    case kBodyDeleteRange: return decode_delete_range(r, &body->emplace<kBodyDeleteRange>());
    case kBodyTxn: return decode_txn(r, &body->emplace<kBodyTxn>(), 1);
    case kBodyCompaction: {
      CompactionRequest& v = body->emplace<kBodyCompaction>();
      return r.signed_varint(&v.revision, "compaction revision") &&
             r.boolean(&v.physical, "compaction physical");
    }
    case kBodyLeaseGrant: {
      LeaseGrantRequest& v = body->emplace<kBodyLeaseGrant>();
      return r.signed_varint(&v.ttl, "lease_grant ttl") && r.signed_varint(&v.id, "lease_grant id");
    }
    case kBodyLeaseRevoke:
      return r.signed_varint(&body->emplace<kBodyLeaseRevoke>().id, "lease_revoke id");
    case kBodyLeaseCheckpoint:
      return decode_lease_checkpoint(r, &body->emplace<kBodyLeaseCheckpoint>());
    case kBodyAlarm: {
      AlarmRequest& v = body->emplace<kBodyAlarm>();
      return r.enumeration(&v.action, AlarmRequest::Action::kDeactivate, "alarm action") &&
             r.varint(&v.member_id, "alarm member_id") &&
             r.enumeration(&v.alarm, AlarmType::kCorrupt, "alarm type");
    }
    case kBodyMemberAttributes: {
      MemberAttributesRequest& v = body->emplace<kBodyMemberAttributes>();
      size_t n;
      if (!r.varint(&v.member_id, "member_attributes member_id") ||
          !r.bytes(&v.name, "member_attributes name") ||
          !r.count(&n, kMinUrlBytes, "member_attributes client url count")) {
        return false;
      }
      v.client_urls.resize(n);
      for (std::string& url : v.client_urls) {
        if (!r.bytes(&url, "member_attributes client url")) return false;
      }
      return true;
    }
    case kBodyMemberUpdate: {
      MemberUpdateRequest& v = body->emplace<kBodyMemberUpdate>();
      size_t n;
      if (!r.varint(&v.member_id, "member_update member_id") ||
          !r.count(&n, kMinUrlBytes, "member_update peer url count")) {
        return false;
      }
      v.peer_urls.resize(n);
      for (std::string& url : v.peer_urls) {
        if (!r.bytes(&url, "member_update peer url")) return false;
      }
      return true;
    }
  }
  return r.fail(start, "unknown body tag " + std::to_string(tag));
}

}  // namespace

std::string encode_request(const InternalRequest& request) {
  std::string out;
  out.push_back(static_cast<char>(kRequestFormat));
  put_varint(&out, request.id);
  out.push_back(static_cast<char>(request.body.index()));
  switch (request.body.index()) {
    case kBodyPut: encode_put(std::get<kBodyPut>(request.body), &out); break;
    case kBodyDeleteRange:
      encode_delete_range(std::get<kBodyDeleteRange>(request.body), &out);
      break;
    case kBodyTxn: encode_txn(std::get<kBodyTxn>(request.body), &out); break;
    case kBodyCompaction: {
      const CompactionRequest& v = std::get<kBodyCompaction>(request.body);
      put_signed(&out, v.revision);
      put_bool(&out, v.physical);
      break;
    }
    case kBodyLeaseGrant: {
      const LeaseGrantRequest& v = std::get<kBodyLeaseGrant>(request.body);
      put_signed(&out, v.ttl);
      put_signed(&out, v.id);
      break;
    }
    case kBodyLeaseRevoke: put_signed(&out, std::get<kBodyLeaseRevoke>(request.body).id); break;
    case kBodyLeaseCheckpoint: {
      const LeaseCheckpointRequest& v = std::get<kBodyLeaseCheckpoint>(request.body);
      put_varint(&out, v.checkpoints.size());
      for (const lease::LeaseCheckpoint& c : v.checkpoints) {
        put_signed(&out, c.id);
        put_signed(&out, c.remaining_ttl);
      }
      break;
    }
    case kBodyAlarm: {
      const AlarmRequest& v = std::get<kBodyAlarm>(request.body);
      put_enum(&out, v.action);
      put_varint(&out, v.member_id);
      put_enum(&out, v.alarm);
      break;
    }
    case kBodyMemberAttributes: {
      const MemberAttributesRequest& v = std::get<kBodyMemberAttributes>(request.body);
      put_varint(&out, v.member_id);
      put_bytes(&out, v.name);
      put_varint(&out, v.client_urls.size());
      for (const std::string& url : v.client_urls) put_bytes(&out, url);
      break;
    }
    case kBodyMemberUpdate: {
      const MemberUpdateRequest& v = std::get<kBodyMemberUpdate>(request.body);
      put_varint(&out, v.member_id);
      put_varint(&out, v.peer_urls.size());
      for (const std::string& url : v.peer_urls) put_bytes(&out, url);
      break;
    }
  }
  return out;
}

Result<InternalRequest> decode_request(std::string_view data) {
  // Offsets in messages count from the format byte, so they index `data` as a WAL tool dumps it.
  Reader r(data);
  uint8_t format;
  if (!r.byte(&format, "format byte")) return Status::Corruption(r.error());
  if (format != kRequestFormat) {
    r.fail(0, "unknown format byte " + std::to_string(format) + " (this build reads " +
                  std::to_string(kRequestFormat) + ")");
    return Status::Corruption(r.error());
  }
  InternalRequest request;
  if (!r.varint(&request.id, "id") || !decode_body(r, &request.body)) {
    return Status::Corruption(r.error());
  }
  // A shorter body that happens to parse is not the entry that was written.
  if (!r.empty()) {
    r.fail(r.offset(), "trailing bytes");
    return Status::Corruption(r.error());
  }
  return request;
}

int txn_depth(const mvcc::TxnRequest& txn) {
  int deepest = 0;
  for (const auto* branch : {&txn.success, &txn.failure}) {
    for (const mvcc::RequestOp& op : *branch) {
      if (const auto* nested = std::get_if<mvcc::Box<mvcc::TxnRequest>>(&op.request)) {
        deepest = std::max(deepest, txn_depth(**nested));
      }
    }
  }
  return deepest + 1;
}

}  // namespace keel::server
