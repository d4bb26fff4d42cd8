// The StateMachine on each backend plugin, with keel's default watch hub: a committed entry
// changes the store at its index and its events reach the hub's watchers; the answers for the
// proposer (etcd's refusals under NOSPACE among them); an entry that does not decode stops the
// member; what was applied survives closing and opening again.
#include "server/state_machine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "mvcc_test_util.h"
#include "server/errors.h"
#include "server/request_codec.h"

namespace keel::server {
namespace {

using mvcc::testing::FakeClock;
using mvcc::testing::TempDir;

// A watch stream's sink that keeps what it is given.
class Recorder : public WatchSink {
 public:
  bool deliver(WatchResponse& response) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (Event& e : response.events) events_.push_back(std::move(e));
    cv_.notify_all();
    return true;
  }
  // The events delivered once there are `n` (waiting at most 10 s for the hub's thread).
  std::vector<Event> wait_for(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return events_.size() >= n; });
    return events_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> events_;
};

raft::Entry entry(uint64_t index, uint64_t request_id, decltype(InternalRequest::body) body) {
  InternalRequest request;
  request.id = request_id;
  request.body = std::move(body);
  raft::Entry e;
  e.index = index;
  e.term = 1;
  e.data = encode_request(request);
  return e;
}

mvcc::PutRequest put(std::string key, std::string value) {
  mvcc::PutRequest p;
  p.key = std::move(key);
  p.value = std::move(value);
  return p;
}

class StateMachineTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!mvcc::testing::backend_built(GetParam())) GTEST_SKIP() << GetParam() << " is not built";
    auto backend = mvcc::testing::load_backend(GetParam());
    ASSERT_TRUE(backend.ok()) << backend.status().to_string();
    backend_plugin_ = std::move(*backend);
    auto hub_plugin = mvcc::testing::load_watch_hub("default");
    ASSERT_TRUE(hub_plugin.ok()) << hub_plugin.status().to_string();
    hub_plugin_ = std::move(*hub_plugin);
    metrics_ = register_node_metrics(registry_, 0);
    open();
  }
  void TearDown() override {
    stream_.reset();
    hub_.reset();
    sm_.reset();
  }
  void open() {
    StateMachineOptions options;
    options.backend = backend_plugin_.get();
    options.dir = dir_.path() + "/db";
    options.store.batch_interval = std::chrono::milliseconds(0);
    options.clock = &clock_;
    options.metrics = &metrics_;
    auto sm = StateMachine::open(options);
    ASSERT_TRUE(sm.ok()) << sm.status().to_string();
    sm_ = std::move(*sm);
    WatchHubOptions hub_options;
    hub_options.history = &sm_->history();
    auto hub = hub_plugin_->create(hub_options);
    ASSERT_TRUE(hub.ok()) << hub.status().to_string();
    hub_ = std::move(*hub);
    auto stream = hub_->open_stream(&recorder_);
    ASSERT_TRUE(stream.ok()) << stream.status().to_string();
    stream_ = std::move(*stream);
    WatchCreate all;
    all.key = std::string(1, '\0');
    all.range_end = std::string(1, '\0');
    ASSERT_TRUE(stream_->create(all).ok());
  }
  AppliedEntry apply(const raft::Entry& e) {
    Result<AppliedEntry> applied = sm_->apply(e, *hub_);
    EXPECT_TRUE(applied.ok()) << applied.status().to_string();
    return applied.ok() ? std::move(applied).value() : AppliedEntry{};
  }

  TempDir dir_;
  FakeClock clock_;
  metrics::Registry registry_;
  NodeMetrics metrics_{};
  std::unique_ptr<BackendPlugin> backend_plugin_;
  std::unique_ptr<WatchHubPlugin> hub_plugin_;
  std::unique_ptr<StateMachine> sm_;
  std::unique_ptr<WatchHub> hub_;
  Recorder recorder_;
  std::unique_ptr<WatchStream> stream_;
};

TEST_P(StateMachineTest, AnEntryChangesTheStoreAtItsIndexAndItsEventsReachTheHub) {
  AppliedEntry applied = apply(entry(5, 77, put("k", "v")));
  EXPECT_EQ(applied.request_id, 77u);
  EXPECT_FALSE(applied.after_purge);
  ASSERT_TRUE(applied.result.ok()) << applied.result.status().to_string();
  const auto* response = std::get_if<mvcc::PutResponse>(&*applied.result);
  ASSERT_NE(response, nullptr);
  EXPECT_EQ(response->header.revision, 2);
  EXPECT_EQ(sm_->kv().consistent_index(), 5u);
  std::vector<Event> events = recorder_.wait_for(1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kv.key, "k");
  EXPECT_EQ(events[0].kv.value, "v");
  EXPECT_EQ(events[0].kv.mod_revision, 2);
  EXPECT_EQ(metrics_.puts->value(), 1);
}

TEST_P(StateMachineTest, TheEmptyEntryOfANewLeaderOnlyMovesTheIndex) {
  raft::Entry empty;
  empty.index = 9;
  empty.term = 2;
  AppliedEntry applied = apply(empty);
  EXPECT_EQ(applied.request_id, 0u);  // nobody to answer
  EXPECT_EQ(sm_->kv().consistent_index(), 9u);
  EXPECT_EQ(sm_->kv().current_revision(), 1);
}

TEST_P(StateMachineTest, AnEntryThatDoesNotDecodeStopsTheMember) {
  raft::Entry bad;
  bad.index = 3;
  bad.term = 1;
  bad.data = "\xff\xfe not a request";
  Result<AppliedEntry> applied = sm_->apply(bad, *hub_);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.status().code(), Status::Code::kCorruption) << applied.status().to_string();
  EXPECT_EQ(sm_->kv().current_revision(), 1);
}

TEST_P(StateMachineTest, NospaceRefusesWhatGrowsTheStoreUntilDisarmed) {
  AppliedEntry raised = apply(entry(2, 1, AlarmRequest{AlarmRequest::Action::kActivate, 0x10, AlarmType::kNoSpace}));
  ASSERT_TRUE(raised.result.ok()) << raised.result.status().to_string();
  AppliedEntry refused = apply(entry(3, 2, put("k", "v")));
  ASSERT_FALSE(refused.result.ok());
  EXPECT_EQ(refused.result.status(), ErrNoSpace());
  EXPECT_EQ(sm_->kv().consistent_index(), 3u);  // applied, as a refusal
  EXPECT_EQ(sm_->kv().current_revision(), 1);
  // A delete frees space: etcd's capped applier lets it through.
  mvcc::DeleteRangeRequest del;
  del.key = "k";
  EXPECT_TRUE(apply(entry(4, 3, del)).result.ok());
  apply(entry(5, 4, AlarmRequest{AlarmRequest::Action::kDeactivate, 0x10, AlarmType::kNoSpace}));
  AppliedEntry again = apply(entry(6, 5, put("k", "v")));
  EXPECT_TRUE(again.result.ok()) << again.result.status().to_string();
  EXPECT_EQ(sm_->kv().current_revision(), 2);
}

TEST_P(StateMachineTest, APhysicalCompactionIsAnsweredAfterThePurge) {
  apply(entry(2, 1, put("k", "1")));
  apply(entry(3, 2, put("k", "2")));
  AppliedEntry logical = apply(entry(4, 3, CompactionRequest{2, false}));
  EXPECT_TRUE(logical.result.ok());
  EXPECT_FALSE(logical.after_purge);
  AppliedEntry physical = apply(entry(5, 4, CompactionRequest{3, true}));
  EXPECT_TRUE(physical.result.ok());
  EXPECT_TRUE(physical.after_purge);
  EXPECT_TRUE(sm_->kv().wait_compaction().ok());
  EXPECT_EQ(metrics_.compact_revision->value(), 3);
  // A compaction past the store's revision is etcd's refusal, answered at once.
  AppliedEntry future = apply(entry(6, 5, CompactionRequest{100, true}));
  EXPECT_FALSE(future.result.ok());
  EXPECT_FALSE(future.after_purge);
}

TEST_P(StateMachineTest, WhatWasAppliedSurvivesClosingAndOpeningAgain) {
  apply(entry(2, 1, put("k", "v")));
  apply(entry(3, 2, LeaseGrantRequest{60, 0x99}));
  stream_.reset();
  hub_.reset();
  ASSERT_TRUE(sm_->close().ok());
  sm_.reset();
  open();
  EXPECT_EQ(sm_->kv().consistent_index(), 3u);
  EXPECT_EQ(sm_->kv().current_revision(), 2);
  EXPECT_EQ(sm_->lessor().leases(), std::vector<int64_t>{0x99});
}

INSTANTIATE_TEST_SUITE_P(Backends, StateMachineTest, ::testing::ValuesIn(mvcc::testing::backend_names()),
                         mvcc::testing::backend_param_name);

}  // namespace
}  // namespace keel::server
