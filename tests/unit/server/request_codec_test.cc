// The byte format of docs/format/requests.md: every body kind round-trips with every field set,
// the documented bytes are the bytes written, and every kind of garbage (a WAL entry torn, flipped
// or crafted) comes back as Corruption, never a crash, an over-read or a huge allocation.
#include "server/request_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::server {
namespace {

using namespace std::string_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// docs/format/requests.md: a Txn body is depth 1, each Txn inside an op one more.
constexpr int kMaxTxnDepth = 64;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

InternalRequest with_body(uint64_t id, decltype(InternalRequest::body) body) {
  InternalRequest r;
  r.id = id;
  r.body = std::move(body);
  return r;
}

void expect_round_trip(const InternalRequest& request) {
  const std::string bytes = encode_request(request);
  Result<InternalRequest> decoded = decode_request(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, request);
  // One encoding per value: decoding and re-encoding gives back the same bytes.
  EXPECT_EQ(encode_request(*decoded), bytes);
}

// Checks the code and the message prefix every decoder error shares, and that the message says
// what went wrong (`detail`).
void expect_corrupt(std::string_view bytes, std::string_view detail = "") {
  Result<InternalRequest> decoded = decode_request(bytes);
  ASSERT_FALSE(decoded.ok()) << "decoded " << bytes.size() << " bytes of garbage";
  EXPECT_TRUE(decoded.status().is_corruption()) << decoded.status().to_string();
  EXPECT_THAT(decoded.status().message(), StartsWith("request: "));
  EXPECT_THAT(decoded.status().message(), HasSubstr(std::string(detail)));
}

mvcc::RangeRequest full_range() {
  mvcc::RangeRequest r;
  r.key = "r\0\xff"s;
  r.range_end = "\xff\0"s;
  r.limit = -5;
  r.revision = kMax;
  r.sort_order = mvcc::SortOrder::kDescend;
  r.sort_target = mvcc::SortTarget::kValue;
  r.serializable = true;
  r.keys_only = true;
  r.count_only = true;
  r.min_mod_revision = -1;
  r.max_mod_revision = kMin;
  r.min_create_revision = 300;
  r.max_create_revision = -300;
  return r;
}

mvcc::PutRequest full_put() {
  return mvcc::PutRequest{"\0k\xff"s, "\xff\0v\0"s, -7, true, true, true};
}

mvcc::DeleteRangeRequest full_delete_range() {
  return mvcc::DeleteRangeRequest{"d\0"s, "\0"s, true};
}

mvcc::Compare full_compare() {
  mvcc::Compare c;
  c.result = mvcc::Compare::Result::kNotEqual;
  c.target = mvcc::Compare::Target::kLease;
  c.key = "c\xff\0"s;
  c.range_end = "\0\0"s;
  c.version = -2;
  c.create_revision = kMin;
  c.mod_revision = kMax;
  c.value = "\xff\xff\0x"s;
  c.lease = -9;
  return c;
}

mvcc::RequestOp op(decltype(mvcc::RequestOp::request) request) {
  mvcc::RequestOp o;
  o.request = std::move(request);
  return o;
}

// Three Txns deep, every op kind in both branches, every field set somewhere.
mvcc::TxnRequest full_txn() {
  mvcc::TxnRequest innermost;
  innermost.compare = {full_compare()};
  innermost.failure = {op(full_put()), op(std::monostate{})};

  mvcc::TxnRequest middle;
  middle.success = {op(mvcc::Box<mvcc::TxnRequest>(innermost)), op(full_range())};
  middle.failure = {op(std::monostate{})};

  mvcc::TxnRequest outer;
  mvcc::Compare second = full_compare();
  second.result = mvcc::Compare::Result::kGreater;
  second.target = mvcc::Compare::Target::kValue;
  outer.compare = {full_compare(), second};
  outer.success = {op(full_range()), op(full_put()), op(full_delete_range()),
                   op(std::monostate{}), op(mvcc::Box<mvcc::TxnRequest>(middle))};
  outer.failure = {op(mvcc::Box<mvcc::TxnRequest>(middle)), op(full_delete_range())};
  return outer;
}

// A Txn whose nesting is `depth` levels (1: no Txn inside).
mvcc::TxnRequest nested_txn(int depth) {
  mvcc::TxnRequest txn;
  for (int level = 1; level < depth; ++level) {
    mvcc::TxnRequest outer;
    outer.success.push_back(op(mvcc::Box<mvcc::TxnRequest>(std::move(txn))));
    txn = std::move(outer);
  }
  return txn;
}

TEST(RequestCodec, RoundTripsEveryBodyWithEveryFieldSet) {
  expect_round_trip(with_body(std::numeric_limits<uint64_t>::max(), full_put()));
  expect_round_trip(with_body(1, full_delete_range()));
  expect_round_trip(with_body(1u << 31, full_txn()));
  expect_round_trip(with_body(7, CompactionRequest{kMax, true}));
  expect_round_trip(with_body(8, LeaseGrantRequest{-60, kMin}));
  expect_round_trip(with_body(9, LeaseRevokeRequest{-42}));
  expect_round_trip(with_body(
      10, LeaseCheckpointRequest{{{kMin, -1}, {1, kMax}, {0x123456789abcdef, 0}}}));
  expect_round_trip(with_body(
      11, AlarmRequest{AlarmRequest::Action::kDeactivate, std::numeric_limits<uint64_t>::max(),
                       AlarmType::kCorrupt}));
  expect_round_trip(with_body(
      12, MemberAttributesRequest{std::numeric_limits<uint64_t>::max(), "infra1",
                                  {"http://127.0.0.1:2379", "http://10.0.0.1:2379"}}));
  expect_round_trip(with_body(
      13, MemberUpdateRequest{std::numeric_limits<uint64_t>::max(), {"http://127.0.0.1:2380", "http://[::1]:2380"}}));
}

// Fields of the same type written in the wrong order would survive an all-true round trip; mixed
// values do not.
TEST(RequestCodec, KeepsNeighbouringFieldsApart) {
  for (int bits = 0; bits < 8; ++bits) {
    mvcc::PutRequest put = full_put();
    put.prev_kv = bits & 1;
    put.ignore_value = bits & 2;
    put.ignore_lease = bits & 4;
    expect_round_trip(with_body(1, put));
    mvcc::TxnRequest txn;
    mvcc::RangeRequest range = full_range();
    range.serializable = bits & 1;
    range.keys_only = bits & 2;
    range.count_only = bits & 4;
    txn.success = {op(range)};
    expect_round_trip(with_body(2, txn));
  }
  expect_round_trip(with_body(3, CompactionRequest{-1, false}));
}

TEST(RequestCodec, RoundTripsEveryEnumValue) {
  for (uint8_t v = 0; v <= 2; ++v) {
    AlarmRequest alarm{static_cast<AlarmRequest::Action>(v), v, static_cast<AlarmType>(2 - v)};
    expect_round_trip(with_body(1, alarm));
  }
  for (uint8_t v = 0; v <= 4; ++v) {
    mvcc::TxnRequest txn;
    mvcc::Compare c = full_compare();
    c.result = static_cast<mvcc::Compare::Result>(v % 4);
    c.target = static_cast<mvcc::Compare::Target>(v);
    txn.compare = {c};
    mvcc::RangeRequest range = full_range();
    range.sort_order = static_cast<mvcc::SortOrder>(v % 3);
    range.sort_target = static_cast<mvcc::SortTarget>(v);
    txn.success = {op(range)};
    expect_round_trip(with_body(1, txn));
  }
}

TEST(RequestCodec, RoundTripsDefaultsAndEmptyLists) {
  expect_round_trip(InternalRequest{});
  expect_round_trip(with_body(0, mvcc::DeleteRangeRequest{}));
  expect_round_trip(with_body(0, mvcc::TxnRequest{}));
  expect_round_trip(with_body(0, CompactionRequest{}));
  expect_round_trip(with_body(0, LeaseGrantRequest{}));
  expect_round_trip(with_body(0, LeaseRevokeRequest{}));
  expect_round_trip(with_body(0, LeaseCheckpointRequest{}));
  expect_round_trip(with_body(0, AlarmRequest{}));
  expect_round_trip(with_body(0, MemberAttributesRequest{}));
  expect_round_trip(with_body(0, MemberAttributesRequest{1, "", {""}}));
  expect_round_trip(with_body(0, MemberUpdateRequest{}));
  expect_round_trip(with_body(0, MemberUpdateRequest{1, {""}}));
  mvcc::TxnRequest empty_ops;
  empty_ops.success = {op(std::monostate{}), op(std::monostate{})};
  empty_ops.failure = {op(std::monostate{})};
  expect_round_trip(with_body(0, empty_ops));
}

// The examples of docs/format/requests.md, byte for byte: the format is what old WALs hold.
TEST(RequestCodec, WritesTheDocumentedBytes) {
  EXPECT_EQ(encode_request(with_body(300, mvcc::PutRequest{"a", "b", -1, true, false, false})),
            "\x01\xac\x02\x00\x01" "a\x01" "b\x01\x01\x00\x00"s);

  mvcc::Compare c;
  c.result = mvcc::Compare::Result::kGreater;
  c.target = mvcc::Compare::Target::kMod;
  c.key = "k";
  c.mod_revision = 5;
  mvcc::TxnRequest txn;
  txn.compare = {c};
  txn.success = {op(std::monostate{})};
  txn.failure = {op(mvcc::Box<mvcc::TxnRequest>())};
  EXPECT_EQ(encode_request(with_body(1, txn)),
            "\x01\x01\x02"                                  // format, id, Txn
            "\x01\x01\x02\x01k\x00\x00\x00\x0a\x00\x00"     // 1 compare
            "\x01\x00"                                      // success: 1 empty op
            "\x01\x04\x00\x00\x00"s);                       // failure: 1 empty nested Txn

  EXPECT_EQ(encode_request(with_body(2, AlarmRequest{AlarmRequest::Action::kActivate, 1,
                                                     AlarmType::kNoSpace})),
            "\x01\x02\x07\x01\x01\x01"s);

  EXPECT_EQ(encode_request(with_body(3, MemberAttributesRequest{0x81, "m1", {"u"}})),
            "\x01\x03\x08\x81\x01\x02m1\x01\x01u"s);

  EXPECT_EQ(encode_request(with_body(4, MemberUpdateRequest{0x81, {"u"}})), "\x01\x04\x09\x81\x01\x01\x01u"s);
}

TEST(RequestCodec, EveryTruncationIsCorruption) {
  const std::string good = encode_request(with_body(0x1234567, full_txn()));
  ASSERT_TRUE(decode_request(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    SCOPED_TRACE(n);
    expect_corrupt(std::string_view(good).substr(0, n));
  }
}

TEST(RequestCodec, WrongFormatByteIsCorruption) {
  expect_corrupt("", "truncated format byte");
  const std::string good = encode_request(with_body(1, full_put()));
  for (char format : {'\0', '\2', '\xff'}) {
    std::string bad = good;
    bad[0] = format;
    expect_corrupt(bad, "unknown format byte");
  }
}

TEST(RequestCodec, UnknownTagsAreCorruption) {
  expect_corrupt("\x01\x01\x0a"s, "unknown body tag 10");
  expect_corrupt("\x01\x01\xff"s, "unknown body tag 255");
  // A Txn with one success op of tag 5.
  expect_corrupt("\x01\x01\x02\x00\x01\x05\x00"s, "unknown op tag 5");
}

TEST(RequestCodec, BoolOtherThanZeroOrOneIsCorruption) {
  const std::string put = encode_request(with_body(300, mvcc::PutRequest{"a", "b", -1}));
  // format, id (2 bytes), tag, key, value, lease, then prev_kv at 9.
  ASSERT_EQ(put.size(), 12u);
  for (size_t at : {9u, 10u, 11u}) {
    std::string bad = put;
    bad[at] = '\2';
    expect_corrupt(bad, "is not a bool (2) at byte " + std::to_string(at));
  }
  expect_corrupt("\x01\x01\x03\x00\x02"s, "compaction physical is not a bool");
  expect_corrupt("\x01\x01\x01\x00\x00\xff"s, "delete_range prev_kv is not a bool");
}

TEST(RequestCodec, OutOfRangeEnumIsCorruption) {
  expect_corrupt("\x01\x01\x07\x03\x00\x00"s, "alarm action out of range (3)");
  expect_corrupt("\x01\x01\x07\x00\x00\x03"s, "alarm type out of range (3)");
  // Txn, 1 compare: result, then target.
  expect_corrupt("\x01\x01\x02\x01\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"s,
                 "compare result out of range (4)");
  expect_corrupt("\x01\x01\x02\x01\x00\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00"s,
                 "compare target out of range (5)");
  // Txn, no compares, 1 Range op: key, range_end, limit, revision, then sort_order, sort_target.
  mvcc::TxnRequest txn;
  txn.success = {op(mvcc::RangeRequest{})};
  const std::string range = encode_request(with_body(1, txn));
  ASSERT_TRUE(decode_request(range).ok());
  std::string bad = range;
  bad[10] = '\3';
  expect_corrupt(bad, "range sort_order out of range (3) at byte 10");
  bad = range;
  bad[11] = '\5';
  expect_corrupt(bad, "range sort_target out of range (5) at byte 11");
}

TEST(RequestCodec, TrailingBytesAreCorruption) {
  for (const InternalRequest& r :
       {with_body(1, full_put()), with_body(2, full_txn()), with_body(3, AlarmRequest{})}) {
    const std::string good = encode_request(r);
    expect_corrupt(good + '\0', "trailing bytes at byte " + std::to_string(good.size()));
    expect_corrupt(good + "\x01\x01"s, "trailing bytes");
  }
}

TEST(RequestCodec, BadVarintsAreCorruption) {
  // An id of eleven bytes, and one whose tenth byte carries bits past 64.
  expect_corrupt("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x05\x00"s, "overflows");
  expect_corrupt("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02\x05\x00"s, "overflows");
  // The largest id still decodes.
  Result<InternalRequest> max =
      decode_request("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x05\x00"s);
  ASSERT_TRUE(max.ok()) << max.status().to_string();
  EXPECT_EQ(max->id, std::numeric_limits<uint64_t>::max());
  // Zero as two bytes: only the shortest form is accepted.
  expect_corrupt("\x01\x80\x00\x05\x00"s, "id is an over-long varint at byte 1");
}

TEST(RequestCodec, LengthsAndCountsPastTheEndAreCorruption) {
  // A key claiming 2^63 bytes, and one claiming one byte more than is there.
  expect_corrupt("\x01\x01\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"s, "runs past the end");
  expect_corrupt("\x01\x01\x00\x02k"s, "put key of 2 bytes runs past the end");
  // Counts of 2^62 must be refused before anything is reserved for them.
  const std::string huge = "\x80\x80\x80\x80\x80\x80\x80\x80\x40"s;
  expect_corrupt("\x01\x01\x02"s + huge, "txn compare count");
  expect_corrupt("\x01\x01\x02\x00"s + huge, "txn success count");
  expect_corrupt("\x01\x01\x02\x00\x00"s + huge, "txn failure count");
  expect_corrupt("\x01\x01\x06"s + huge, "lease_checkpoint count");
  // Just too many: one compare needs at least 9 bytes and 8 are left.
  expect_corrupt("\x01\x01\x02\x01\x00\x00\x00\x00\x00\x00\x00\x00"s,
                 "txn compare count of 1 exceeds the bytes left (8)");
  expect_corrupt("\x01\x01\x06\x02\x00\x00\x00"s, "lease_checkpoint count of 2 exceeds");
}

TEST(RequestCodec, NestingIsBoundedAtTheDocumentedDepth) {
  expect_round_trip(with_body(1, nested_txn(kMaxTxnDepth)));
  expect_corrupt(encode_request(with_body(1, nested_txn(kMaxTxnDepth + 1))),
                 "txn nested deeper than 64");
  // A crafted entry a million Txns deep, which unbounded recursion would overflow the stack on:
  // each level is "no compares, one success op, a Txn".
  std::string deep = "\x01\x01\x02"s;
  for (int i = 0; i < 1'000'000; ++i) deep += "\x00\x01\x04"s;
  expect_corrupt(deep, "txn nested deeper than 64");
}

// Random damage to a valid entry: never a crash or an over-read (the sanitizer build checks the
// latter); whatever still decodes is a value whose encoding is exactly those bytes.
TEST(RequestCodec, RandomDamageIsCorruptionOrCanonical) {
  const std::string good = encode_request(with_body(99, full_txn()));
  std::mt19937 rng(20240601);
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bad = good;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bad.size();
      switch (rng() % 4) {
        case 0: bad[at] = static_cast<char>(rng()); break;
        case 1: bad[at] = static_cast<char>(bad[at] ^ (1 << (rng() % 8))); break;
        case 2: bad.erase(at, 1 + rng() % 4); break;
        case 3: bad.insert(at, 1, static_cast<char>(rng())); break;
      }
      if (bad.empty()) bad = "\x01";
    }
    Result<InternalRequest> r = decode_request(bad);
    if (r.ok()) {
      ++decoded;
      EXPECT_EQ(encode_request(*r), bad) << "iteration " << i;
    } else {
      ASSERT_TRUE(r.status().is_corruption()) << r.status().to_string();
      ASSERT_THAT(r.status().message(), StartsWith("request: "));
    }
  }
  // Some damage (a changed byte inside a key) is undetectable by design: the WAL's CRC catches it.
  EXPECT_GT(decoded, 0);
}

}  // namespace
}  // namespace keel::server
