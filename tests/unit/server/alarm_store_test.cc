// The AlarmStore over a real MVCC store on each backend plugin: raising, clearing, listing by
// type, the answers etcd gives (an alarm raised twice, a clear of one never raised), and that
// alarms survive a restart while a cleared one stays cleared.
#include <gtest/gtest.h>

#include "mvcc_test_util.h"
#include "server/alarm_store.h"

namespace keel::server {
namespace {

class AlarmStoreTest : public mvcc::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    open_alarms();
  }
  void TearDown() override {
    alarms_.reset();
    StoreTest::TearDown();
  }
  void open_alarms() {
    auto a = AlarmStore::open(store());
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    alarms_ = std::move(*a);
  }
  void restart() {
    alarms_.reset();
    ASSERT_OK(store().force_commit());
    reopen();
    open_alarms();
  }
  std::vector<AlarmMember> activate(uint64_t member, AlarmType type) {
    auto r = alarms_->activate(member, type, ++index_);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : std::vector<AlarmMember>{};
  }
  std::vector<AlarmMember> deactivate(uint64_t member, AlarmType type) {
    auto r = alarms_->deactivate(member, type, ++index_);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : std::vector<AlarmMember>{};
  }

  std::unique_ptr<AlarmStore> alarms_;
  uint64_t index_ = 0;
};

using Alarms = std::vector<AlarmMember>;

TEST_P(AlarmStoreTest, RaiseListClear) {
  EXPECT_FALSE(alarms_->active(AlarmType::kNoSpace));
  EXPECT_EQ(activate(7, AlarmType::kNoSpace), (Alarms{{7, AlarmType::kNoSpace}}));
  // Raised again: the same answer, still one alarm.
  EXPECT_EQ(activate(7, AlarmType::kNoSpace), (Alarms{{7, AlarmType::kNoSpace}}));
  EXPECT_EQ(activate(3, AlarmType::kNoSpace), (Alarms{{3, AlarmType::kNoSpace}}));
  EXPECT_EQ(activate(3, AlarmType::kCorrupt), (Alarms{{3, AlarmType::kCorrupt}}));
  EXPECT_TRUE(alarms_->active(AlarmType::kNoSpace));
  EXPECT_TRUE(alarms_->active(AlarmType::kCorrupt));
  EXPECT_EQ(alarms_->list(AlarmType::kNone),
            (Alarms{{3, AlarmType::kNoSpace}, {3, AlarmType::kCorrupt}, {7, AlarmType::kNoSpace}}));
  EXPECT_EQ(alarms_->list(AlarmType::kCorrupt), (Alarms{{3, AlarmType::kCorrupt}}));

  EXPECT_EQ(deactivate(7, AlarmType::kNoSpace), (Alarms{{7, AlarmType::kNoSpace}}));
  EXPECT_TRUE(alarms_->active(AlarmType::kNoSpace)) << "member 3 still has it";
  EXPECT_EQ(deactivate(3, AlarmType::kNoSpace), (Alarms{{3, AlarmType::kNoSpace}}));
  EXPECT_FALSE(alarms_->active(AlarmType::kNoSpace));
  // Never raised (or cleared already): nothing to answer, nothing changes.
  EXPECT_EQ(deactivate(3, AlarmType::kNoSpace), Alarms{});
  EXPECT_EQ(deactivate(9, AlarmType::kCorrupt), Alarms{});
  EXPECT_EQ(alarms_->list(AlarmType::kNone), (Alarms{{3, AlarmType::kCorrupt}}));
  // NONE is raised and listed like the others, as etcd 3.4 does (it blocks nothing).
  EXPECT_EQ(activate(5, AlarmType::kNone), (Alarms{{5, AlarmType::kNone}}));
  EXPECT_EQ(alarms_->list(AlarmType::kNone), (Alarms{{3, AlarmType::kCorrupt}, {5, AlarmType::kNone}}));
  EXPECT_FALSE(alarms_->active(AlarmType::kNoSpace));
  EXPECT_EQ(deactivate(5, AlarmType::kNone), (Alarms{{5, AlarmType::kNone}}));
  EXPECT_EQ(alarms_->list(AlarmType::kNone).size(), 1u);
  // Every call recorded its entry as applied.
  EXPECT_EQ(store().consistent_index(), index_);
}

TEST_P(AlarmStoreTest, SurvivesRestart) {
  activate(7, AlarmType::kNoSpace);
  activate(8, AlarmType::kNoSpace);
  activate(8, AlarmType::kCorrupt);
  deactivate(8, AlarmType::kNoSpace);
  restart();
  EXPECT_EQ(alarms_->list(AlarmType::kNone), (Alarms{{7, AlarmType::kNoSpace}, {8, AlarmType::kCorrupt}}));
  EXPECT_TRUE(alarms_->active(AlarmType::kNoSpace));
  EXPECT_TRUE(alarms_->active(AlarmType::kCorrupt));
  deactivate(7, AlarmType::kNoSpace);
  restart();
  EXPECT_FALSE(alarms_->active(AlarmType::kNoSpace));
  EXPECT_EQ(alarms_->list(AlarmType::kNone), (Alarms{{8, AlarmType::kCorrupt}}));
}

TEST_P(AlarmStoreTest, MalformedRecordIsCorruption) {
  alarms_.reset();
  WriteBatch b;
  b.put(kAlarmBucket, "short", "");
  ASSERT_OK(store().stage(b, ++index_));
  ASSERT_OK(store().force_commit());
  auto a = AlarmStore::open(store());
  ASSERT_FALSE(a.ok());
  EXPECT_TRUE(a.status().is_corruption()) << a.status().to_string();
}

INSTANTIATE_TEST_SUITE_P(Backends, AlarmStoreTest, ::testing::ValuesIn(mvcc::testing::backend_names()),
                         mvcc::testing::backend_param_name);

}  // namespace
}  // namespace keel::server
