// services/grpc/convert.h: every field of etcd's KV messages reaches the kernel's structs and
// back, nested txns included, and keel's Status becomes the gRPC status etcd's clients expect.
#include "grpc/convert.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace keel::grpcsvc {
namespace {

using google::protobuf::util::MessageDifferencer;

// Bytes fields carry any bytes, NULs and high bytes included.
std::string bin_key() { return std::string("k\0\xff", 3); }
std::string bin_end() { return std::string("k\0\xffz", 4); }
std::string bin_value() { return std::string("\0v\xfe", 3); }

KeyValue sample_kv(int64_t n) {
  return KeyValue{bin_key() + std::to_string(n), 10 * n + 1, 10 * n + 2, 10 * n + 3,
                  bin_value() + std::to_string(n), 10 * n + 4};
}

void expect_kv(const mvccpb::KeyValue& got, const KeyValue& want) {
  EXPECT_EQ(got.key(), want.key);
  EXPECT_EQ(got.create_revision(), want.create_revision);
  EXPECT_EQ(got.mod_revision(), want.mod_revision);
  EXPECT_EQ(got.version(), want.version);
  EXPECT_EQ(got.value(), want.value);
  EXPECT_EQ(got.lease(), want.lease);
}

// --- Requests --------------------------------------------------------------------------------

TEST(FromProto, RangeRequestEveryField) {
  etcdserverpb::RangeRequest in;
  in.set_key(bin_key());
  in.set_range_end(bin_end());
  in.set_limit(7);
  in.set_revision(42);
  in.set_sort_order(etcdserverpb::RangeRequest::DESCEND);
  in.set_sort_target(etcdserverpb::RangeRequest::MOD);
  in.set_serializable(true);
  in.set_keys_only(true);
  in.set_count_only(true);
  in.set_min_mod_revision(3);
  in.set_max_mod_revision(4);
  in.set_min_create_revision(5);
  in.set_max_create_revision(6);

  mvcc::RangeRequest want;
  want.key = bin_key();
  want.range_end = bin_end();
  want.limit = 7;
  want.revision = 42;
  want.sort_order = mvcc::SortOrder::kDescend;
  want.sort_target = mvcc::SortTarget::kMod;
  want.serializable = true;
  want.keys_only = true;
  want.count_only = true;
  want.min_mod_revision = 3;
  want.max_mod_revision = 4;
  want.min_create_revision = 5;
  want.max_create_revision = 6;
  EXPECT_EQ(from_proto(in), want);
  EXPECT_EQ(from_proto(etcdserverpb::RangeRequest()), mvcc::RangeRequest());
}

TEST(FromProto, SortEnumsByValue) {
  const std::pair<etcdserverpb::RangeRequest_SortOrder, mvcc::SortOrder> orders[] = {
      {etcdserverpb::RangeRequest::NONE, mvcc::SortOrder::kNone},
      {etcdserverpb::RangeRequest::ASCEND, mvcc::SortOrder::kAscend},
      {etcdserverpb::RangeRequest::DESCEND, mvcc::SortOrder::kDescend},
  };
  for (const auto& [proto, keel] : orders) {
    etcdserverpb::RangeRequest in;
    in.set_sort_order(proto);
    EXPECT_EQ(from_proto(in).sort_order, keel) << proto;
  }
  const std::pair<etcdserverpb::RangeRequest_SortTarget, mvcc::SortTarget> targets[] = {
      {etcdserverpb::RangeRequest::KEY, mvcc::SortTarget::kKey},
      {etcdserverpb::RangeRequest::VERSION, mvcc::SortTarget::kVersion},
      {etcdserverpb::RangeRequest::CREATE, mvcc::SortTarget::kCreate},
      {etcdserverpb::RangeRequest::MOD, mvcc::SortTarget::kMod},
      {etcdserverpb::RangeRequest::VALUE, mvcc::SortTarget::kValue},
  };
  for (const auto& [proto, keel] : targets) {
    etcdserverpb::RangeRequest in;
    in.set_sort_target(proto);
    EXPECT_EQ(from_proto(in).sort_target, keel) << proto;
  }
}

TEST(FromProto, UnknownSortEnumsFallBackToNoneByKey) {
  // proto3 keeps unknown enum values, so they do reach from_proto (here via the wire, as a
  // client would send them).
  const std::pair<int, int> bad[] = {{3, 5}, {99, 6}, {256, 1000}, {-1, -1}, {INT32_MAX, 255}};
  for (const auto& [order, target] : bad) {
    etcdserverpb::RangeRequest sent;
    sent.set_sort_order(static_cast<etcdserverpb::RangeRequest_SortOrder>(order));
    sent.set_sort_target(static_cast<etcdserverpb::RangeRequest_SortTarget>(target));
    etcdserverpb::RangeRequest in;
    ASSERT_TRUE(in.ParseFromString(sent.SerializeAsString()));
    ASSERT_EQ(static_cast<int>(in.sort_order()), order);
    ASSERT_EQ(static_cast<int>(in.sort_target()), target);
    const mvcc::RangeRequest out = from_proto(in);
    EXPECT_EQ(out.sort_order, mvcc::SortOrder::kNone) << order;
    EXPECT_EQ(out.sort_target, mvcc::SortTarget::kKey) << target;
  }
}

TEST(FromProto, PutRequestEveryField) {
  etcdserverpb::PutRequest in;
  in.set_key(bin_key());
  in.set_value(bin_value());
  in.set_lease(0x7fffffffffffffff);
  in.set_prev_kv(true);
  in.set_ignore_value(true);
  in.set_ignore_lease(true);
  EXPECT_EQ(from_proto(in),
            (mvcc::PutRequest{bin_key(), bin_value(), 0x7fffffffffffffff, true, true, true}));
  EXPECT_EQ(from_proto(etcdserverpb::PutRequest()), mvcc::PutRequest());
}

TEST(FromProto, DeleteRangeRequestEveryField) {
  etcdserverpb::DeleteRangeRequest in;
  in.set_key(bin_key());
  in.set_range_end(std::string(1, '\0'));
  in.set_prev_kv(true);
  EXPECT_EQ(from_proto(in), (mvcc::DeleteRangeRequest{bin_key(), std::string(1, '\0'), true}));
  EXPECT_EQ(from_proto(etcdserverpb::DeleteRangeRequest()), mvcc::DeleteRangeRequest());
}

// A txn with one compare to read its Compare back.
mvcc::Compare only_compare(const etcdserverpb::Compare& c) {
  etcdserverpb::TxnRequest in;
  *in.add_compare() = c;
  mvcc::TxnRequest out = from_proto(in);
  EXPECT_EQ(out.compare.size(), 1u);
  return out.compare.empty() ? mvcc::Compare() : out.compare[0];
}

TEST(FromProto, CompareEveryFieldAndEachTargetUnionMember) {
  etcdserverpb::Compare c;
  c.set_result(etcdserverpb::Compare::NOT_EQUAL);
  c.set_target(etcdserverpb::Compare::VALUE);
  c.set_key(bin_key());
  c.set_range_end(bin_end());
  c.set_value(bin_value());
  mvcc::Compare want;
  want.result = mvcc::Compare::Result::kNotEqual;
  want.target = mvcc::Compare::Target::kValue;
  want.key = bin_key();
  want.range_end = bin_end();
  want.value = bin_value();
  EXPECT_EQ(only_compare(c), want);

  // Each member of the oneof lands in its own field, and only there.
  c.set_version(11);
  want.value.clear();
  want.version = 11;
  EXPECT_EQ(only_compare(c), want);
  c.set_create_revision(12);
  want.version = 0;
  want.create_revision = 12;
  EXPECT_EQ(only_compare(c), want);
  c.set_mod_revision(13);
  want.create_revision = 0;
  want.mod_revision = 13;
  EXPECT_EQ(only_compare(c), want);
  c.set_lease(14);
  want.mod_revision = 0;
  want.lease = 14;
  EXPECT_EQ(only_compare(c), want);
  c.clear_target_union();
  want.lease = 0;
  EXPECT_EQ(only_compare(c), want);
}

TEST(FromProto, CompareEnumsByValueUnknownToDefaults) {
  const std::pair<etcdserverpb::Compare_CompareResult, mvcc::Compare::Result> results[] = {
      {etcdserverpb::Compare::EQUAL, mvcc::Compare::Result::kEqual},
      {etcdserverpb::Compare::GREATER, mvcc::Compare::Result::kGreater},
      {etcdserverpb::Compare::LESS, mvcc::Compare::Result::kLess},
      {etcdserverpb::Compare::NOT_EQUAL, mvcc::Compare::Result::kNotEqual},
      {static_cast<etcdserverpb::Compare_CompareResult>(4), mvcc::Compare::Result::kEqual},
      {static_cast<etcdserverpb::Compare_CompareResult>(-7), mvcc::Compare::Result::kEqual},
  };
  for (const auto& [proto, keel] : results) {
    etcdserverpb::Compare c;
    c.set_result(proto);
    EXPECT_EQ(only_compare(c).result, keel) << proto;
  }
  const std::pair<etcdserverpb::Compare_CompareTarget, mvcc::Compare::Target> targets[] = {
      {etcdserverpb::Compare::VERSION, mvcc::Compare::Target::kVersion},
      {etcdserverpb::Compare::CREATE, mvcc::Compare::Target::kCreate},
      {etcdserverpb::Compare::MOD, mvcc::Compare::Target::kMod},
      {etcdserverpb::Compare::VALUE, mvcc::Compare::Target::kValue},
      {etcdserverpb::Compare::LEASE, mvcc::Compare::Target::kLease},
      {static_cast<etcdserverpb::Compare_CompareTarget>(5), mvcc::Compare::Target::kVersion},
      {static_cast<etcdserverpb::Compare_CompareTarget>(1000), mvcc::Compare::Target::kVersion},
  };
  for (const auto& [proto, keel] : targets) {
    etcdserverpb::Compare c;
    c.set_target(proto);
    EXPECT_EQ(only_compare(c).target, keel) << proto;
  }
}

TEST(FromProto, TxnRequestEveryOpKindAndEmptyOp) {
  etcdserverpb::TxnRequest in;
  auto* c = in.add_compare();
  c->set_key("a");
  c->set_target(etcdserverpb::Compare::MOD);
  c->set_result(etcdserverpb::Compare::LESS);
  c->set_mod_revision(9);
  in.add_compare()->set_key("b");
  auto* range = in.add_success()->mutable_request_range();
  range->set_key("r");
  range->set_limit(2);
  auto* put = in.add_success()->mutable_request_put();
  put->set_key("p");
  put->set_value("v");
  put->set_prev_kv(true);
  auto* del = in.add_success()->mutable_request_delete_range();
  del->set_key("d");
  del->set_range_end("e");
  in.add_success()->mutable_request_txn()->add_compare()->set_key("n");
  in.add_failure();  // no member of the oneof set
  in.add_failure()->mutable_request_put()->set_key("f");

  const mvcc::TxnRequest out = from_proto(in);
  ASSERT_EQ(out.compare.size(), 2u);
  mvcc::Compare c0;
  c0.key = "a";
  c0.target = mvcc::Compare::Target::kMod;
  c0.result = mvcc::Compare::Result::kLess;
  c0.mod_revision = 9;
  EXPECT_EQ(out.compare[0], c0);
  mvcc::Compare c1;
  c1.key = "b";
  EXPECT_EQ(out.compare[1], c1);

  ASSERT_EQ(out.success.size(), 4u);
  mvcc::RangeRequest r;
  r.key = "r";
  r.limit = 2;
  EXPECT_EQ(std::get<mvcc::RangeRequest>(out.success[0].request), r);
  mvcc::PutRequest p;
  p.key = "p";
  p.value = "v";
  p.prev_kv = true;
  EXPECT_EQ(std::get<mvcc::PutRequest>(out.success[1].request), p);
  EXPECT_EQ(std::get<mvcc::DeleteRangeRequest>(out.success[2].request),
            (mvcc::DeleteRangeRequest{"d", "e", false}));
  const auto& nested = std::get<mvcc::Box<mvcc::TxnRequest>>(out.success[3].request);
  ASSERT_EQ(nested->compare.size(), 1u);
  EXPECT_EQ(nested->compare[0].key, "n");
  EXPECT_TRUE(nested->success.empty());
  EXPECT_TRUE(nested->failure.empty());

  ASSERT_EQ(out.failure.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(out.failure[0].request));
  EXPECT_EQ(std::get<mvcc::PutRequest>(out.failure[1].request).key, "f");

  EXPECT_EQ(from_proto(etcdserverpb::TxnRequest()), mvcc::TxnRequest());
}

TEST(FromProto, TxnNestedThreeDeep) {
  // Level 1 success -> level 2 failure -> level 3 success, each level with its own compare and a
  // leaf op, so a mix-up of levels or branches shows.
  etcdserverpb::TxnRequest in;
  in.add_compare()->set_key("c1");
  in.add_success()->mutable_request_put()->set_key("p1");
  auto* l2 = in.add_success()->mutable_request_txn();
  l2->add_compare()->set_key("c2");
  l2->add_failure()->mutable_request_delete_range()->set_key("d2");
  auto* l3 = l2->add_failure()->mutable_request_txn();
  l3->add_compare()->set_version(3);
  l3->add_success()->mutable_request_range()->set_key("r3");
  l3->add_success();  // empty, deep down

  // The same txn built as structs.
  mvcc::TxnRequest t3;
  mvcc::Compare c3;
  c3.version = 3;
  t3.compare = {c3};
  mvcc::RangeRequest r3;
  r3.key = "r3";
  t3.success = {mvcc::RequestOp{r3}, mvcc::RequestOp{}};
  mvcc::TxnRequest t2;
  mvcc::Compare c2;
  c2.key = "c2";
  t2.compare = {c2};
  t2.failure = {mvcc::RequestOp{mvcc::DeleteRangeRequest{"d2", "", false}},
                mvcc::RequestOp{mvcc::Box<mvcc::TxnRequest>(t3)}};
  mvcc::TxnRequest want;
  mvcc::Compare c1;
  c1.key = "c1";
  want.compare = {c1};
  mvcc::PutRequest p1;
  p1.key = "p1";
  want.success = {mvcc::RequestOp{p1}, mvcc::RequestOp{mvcc::Box<mvcc::TxnRequest>(t2)}};

  const mvcc::TxnRequest out = from_proto(in);
  EXPECT_EQ(out, want);
  // And explicitly down to the empty op at level 3.
  const auto& got2 = std::get<mvcc::Box<mvcc::TxnRequest>>(out.success.at(1).request);
  const auto& got3 = std::get<mvcc::Box<mvcc::TxnRequest>>(got2->failure.at(1).request);
  EXPECT_EQ(got3->compare.at(0).version, 3);
  EXPECT_EQ(std::get<mvcc::RangeRequest>(got3->success.at(0).request).key, "r3");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(got3->success.at(1).request));
}

// --- Responses -------------------------------------------------------------------------------

TEST(ToProto, KeyValueEveryField) {
  const KeyValue kv{bin_key(), -1, INT64_MAX, 3, bin_value(), INT64_MIN};
  mvccpb::KeyValue out;
  to_proto(kv, &out);
  expect_kv(out, kv);
  mvccpb::KeyValue empty;
  to_proto(KeyValue{}, &empty);
  EXPECT_EQ(empty.ByteSizeLong(), 0u);  // every default is the proto3 default
}

TEST(ToProto, EventPutWithPrevKvAndDeleteWithout) {
  const Event put{Event::Type::kPut, sample_kv(1), sample_kv(2)};
  mvccpb::Event out;
  to_proto(put, &out);
  EXPECT_EQ(out.type(), mvccpb::Event::PUT);
  ASSERT_TRUE(out.has_kv());
  expect_kv(out.kv(), sample_kv(1));
  ASSERT_TRUE(out.has_prev_kv());
  expect_kv(out.prev_kv(), sample_kv(2));

  Event del{Event::Type::kDelete, KeyValue{}, std::nullopt};
  del.kv.key = bin_key();
  del.kv.mod_revision = 9;
  mvccpb::Event out2;
  to_proto(del, &out2);
  EXPECT_EQ(out2.type(), mvccpb::Event::DELETE);
  expect_kv(out2.kv(), del.kv);
  EXPECT_FALSE(out2.has_prev_kv());

  // An empty prev_kv that is present stays present (a deleted key's previous state can be empty
  // but asked for).
  Event with_empty_prev{Event::Type::kDelete, sample_kv(3), KeyValue{}};
  mvccpb::Event out3;
  to_proto(with_empty_prev, &out3);
  EXPECT_TRUE(out3.has_prev_kv());
}

TEST(ToProto, RangeResponseEveryField) {
  mvcc::RangeResponse in;
  in.header.revision = 77;
  in.kvs = {sample_kv(1), sample_kv(2), sample_kv(3)};
  in.more = true;
  in.count = 10;
  etcdserverpb::RangeResponse out;
  to_proto(in, &out);
  ASSERT_TRUE(out.has_header());
  EXPECT_EQ(out.header().revision(), 77);
  EXPECT_EQ(out.header().cluster_id(), 0u);  // the caller's to fill
  EXPECT_EQ(out.header().member_id(), 0u);
  EXPECT_EQ(out.header().raft_term(), 0u);
  ASSERT_EQ(out.kvs_size(), 3);
  for (int i = 0; i < 3; ++i) expect_kv(out.kvs(i), in.kvs[i]);
  EXPECT_TRUE(out.more());
  EXPECT_EQ(out.count(), 10);
}

TEST(ToProto, RangeResponseMovedIsTheSame) {
  mvcc::RangeResponse in;
  in.header.revision = 9;
  in.kvs = {sample_kv(1), sample_kv(2)};
  in.more = true;
  in.count = 4;
  etcdserverpb::RangeResponse copied;
  to_proto(in, &copied);
  mvcc::RangeResponse moved_from = in;
  etcdserverpb::RangeResponse moved;
  to_proto(std::move(moved_from), &moved);
  EXPECT_EQ(moved.SerializeAsString(), copied.SerializeAsString());
  for (int i = 0; i < 2; ++i) expect_kv(moved.kvs(i), in.kvs[i]);
}

TEST(ToProto, PutResponsePrevKvOnlyWhenPresent) {
  mvcc::PutResponse in;
  in.header.revision = 5;
  etcdserverpb::PutResponse out;
  to_proto(in, &out);
  EXPECT_EQ(out.header().revision(), 5);
  EXPECT_FALSE(out.has_prev_kv());

  in.prev_kv = sample_kv(4);
  etcdserverpb::PutResponse out2;
  to_proto(in, &out2);
  ASSERT_TRUE(out2.has_prev_kv());
  expect_kv(out2.prev_kv(), sample_kv(4));
}

TEST(ToProto, DeleteRangeResponseEveryField) {
  mvcc::DeleteRangeResponse in;
  in.header.revision = 8;
  in.deleted = 2;
  in.prev_kvs = {sample_kv(1), sample_kv(2)};
  etcdserverpb::DeleteRangeResponse out;
  to_proto(in, &out);
  EXPECT_EQ(out.header().revision(), 8);
  EXPECT_EQ(out.deleted(), 2);
  ASSERT_EQ(out.prev_kvs_size(), 2);
  expect_kv(out.prev_kvs(0), sample_kv(1));
  expect_kv(out.prev_kvs(1), sample_kv(2));
}

TEST(ToProto, TxnResponseEveryResponseKind) {
  mvcc::TxnResponse in;
  in.header.revision = 20;
  in.succeeded = true;
  mvcc::RangeResponse range;
  range.header.revision = 19;
  range.kvs = {sample_kv(1)};
  range.count = 1;
  mvcc::PutResponse put;
  put.header.revision = 20;
  put.prev_kv = sample_kv(2);
  mvcc::DeleteRangeResponse del;
  del.header.revision = 20;
  del.deleted = 1;
  mvcc::TxnResponse nested;  // a nested txn's header revision is 0, as the store leaves it
  nested.succeeded = false;
  in.responses = {mvcc::ResponseOp{range}, mvcc::ResponseOp{put}, mvcc::ResponseOp{del},
                  mvcc::ResponseOp{mvcc::Box<mvcc::TxnResponse>(nested)}};

  etcdserverpb::TxnResponse out;
  to_proto(in, &out);
  EXPECT_EQ(out.header().revision(), 20);
  EXPECT_TRUE(out.succeeded());
  ASSERT_EQ(out.responses_size(), 4);

  ASSERT_EQ(out.responses(0).response_case(), etcdserverpb::ResponseOp::kResponseRange);
  etcdserverpb::RangeResponse want_range;
  to_proto(range, &want_range);
  EXPECT_TRUE(MessageDifferencer::Equals(out.responses(0).response_range(), want_range));
  EXPECT_EQ(out.responses(0).response_range().header().revision(), 19);

  ASSERT_EQ(out.responses(1).response_case(), etcdserverpb::ResponseOp::kResponsePut);
  EXPECT_EQ(out.responses(1).response_put().header().revision(), 20);
  expect_kv(out.responses(1).response_put().prev_kv(), sample_kv(2));

  ASSERT_EQ(out.responses(2).response_case(), etcdserverpb::ResponseOp::kResponseDeleteRange);
  EXPECT_EQ(out.responses(2).response_delete_range().header().revision(), 20);
  EXPECT_EQ(out.responses(2).response_delete_range().deleted(), 1);

  ASSERT_EQ(out.responses(3).response_case(), etcdserverpb::ResponseOp::kResponseTxn);
  const auto& t = out.responses(3).response_txn();
  EXPECT_TRUE(t.has_header());  // present though empty, as etcd sends it
  EXPECT_EQ(t.header().revision(), 0);
  EXPECT_FALSE(t.succeeded());
  EXPECT_EQ(t.responses_size(), 0);
}

TEST(ToProto, TxnResponseNestedThreeDeep) {
  mvcc::TxnResponse t3;
  t3.header.revision = 3;
  t3.succeeded = true;
  mvcc::DeleteRangeResponse d3;
  d3.header.revision = 33;
  d3.deleted = 3;
  t3.responses = {mvcc::ResponseOp{d3}};
  mvcc::TxnResponse t2;
  t2.header.revision = 2;
  mvcc::PutResponse p2;
  p2.header.revision = 22;
  t2.responses = {mvcc::ResponseOp{p2}, mvcc::ResponseOp{mvcc::Box<mvcc::TxnResponse>(t3)}};
  mvcc::TxnResponse t1;
  t1.header.revision = 1;
  t1.succeeded = true;
  t1.responses = {mvcc::ResponseOp{mvcc::Box<mvcc::TxnResponse>(t2)}};

  etcdserverpb::TxnResponse out;
  to_proto(t1, &out);

  // The expected message, built by hand.
  etcdserverpb::TxnResponse want;
  want.mutable_header()->set_revision(1);
  want.set_succeeded(true);
  auto* w2 = want.add_responses()->mutable_response_txn();
  w2->mutable_header()->set_revision(2);
  w2->set_succeeded(false);
  w2->add_responses()->mutable_response_put()->mutable_header()->set_revision(22);
  auto* w3 = w2->add_responses()->mutable_response_txn();
  w3->mutable_header()->set_revision(3);
  w3->set_succeeded(true);
  auto* wd = w3->add_responses()->mutable_response_delete_range();
  wd->mutable_header()->set_revision(33);
  wd->set_deleted(3);

  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(out, want)) << diff;
  // Spot checks at the bottom, should the differencer ever be lenient about presence.
  const auto& got3 = out.responses(0).response_txn().responses(1).response_txn();
  EXPECT_EQ(got3.header().revision(), 3);
  EXPECT_TRUE(got3.responses(0).response_delete_range().has_header());
  EXPECT_FALSE(out.responses(0).response_txn().responses(0).response_put().has_prev_kv());
}

// --- Status ----------------------------------------------------------------------------------

TEST(ToGrpcStatus, OkIsOk) {
  EXPECT_TRUE(to_grpc_status(Status::OK()).ok());
  EXPECT_EQ(to_grpc_status(Status::OK()).error_message(), "");
}

TEST(ToGrpcStatus, CodesByNumberMessageUnchanged) {
  for (int code = 1; code <= 16; ++code) {
    const Status s(static_cast<Status::Code>(code), "message " + std::to_string(code));
    const grpc::Status g = to_grpc_status(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), code);
    EXPECT_EQ(g.error_message(), s.message());
  }
}

TEST(ToGrpcStatus, EtcdErrorsAsEtcdSendsThem) {
  const struct {
    Status in;
    grpc::StatusCode code;
  } cases[] = {
      {Status::InvalidArgument("etcdserver: key not found"), grpc::StatusCode::INVALID_ARGUMENT},
      {Status::OutOfRange("etcdserver: mvcc: required revision has been compacted"),
       grpc::StatusCode::OUT_OF_RANGE},
      {Status::NotFound("etcdserver: requested lease not found"), grpc::StatusCode::NOT_FOUND},
      {Status::ResourceExhausted("etcdserver: mvcc: database space exceeded"),
       grpc::StatusCode::RESOURCE_EXHAUSTED},
      {Status::FailedPrecondition("etcdserver: member not found"),
       grpc::StatusCode::FAILED_PRECONDITION},
      {Status::Unavailable("etcdserver: leader changed"), grpc::StatusCode::UNAVAILABLE},
      {Status::NotSupported("etcdserver: unsupported"), grpc::StatusCode::UNIMPLEMENTED},
      {Status::Corruption("mvcc: bad key"), grpc::StatusCode::DATA_LOSS},
      {Status::IOError("wal: fsync: input/output error"), grpc::StatusCode::UNAVAILABLE},
      {Status(static_cast<Status::Code>(200), "from a newer plugin"), grpc::StatusCode::UNKNOWN},
  };
  for (const auto& c : cases) {
    const grpc::Status g = to_grpc_status(c.in);
    EXPECT_EQ(g.error_code(), c.code) << c.in.to_string();
    EXPECT_EQ(g.error_message(), c.in.message());
  }
}

}  // namespace
}  // namespace keel::grpcsvc
