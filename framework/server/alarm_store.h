// AlarmStore: the cluster's raised alarms (etcd's alarm store) — which member raised which alarm
// (NOSPACE when the backend passed its quota, CORRUPT when a member's data disagreed). Alarms are
// replicated state: they change only by applying an AlarmRequest, are kept in the Backend's
// `alarm` bucket in the same commit as the entry that changed them (docs/format/mvcc.md), and so
// survive restarts. While NOSPACE is raised the applier refuses writes that grow the store.
//
// Thread safety: the apply thread calls activate() and deactivate(); the readers (list(),
// active()) may be called from any thread.
#ifndef KEEL_SERVER_ALARM_STORE_H_
#define KEEL_SERVER_ALARM_STORE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "keel/status.h"
#include "mvcc/kv_store.h"
#include "server/request.h"

namespace keel::server {

inline constexpr char kAlarmBucket[] = "alarm";

struct AlarmMember {
  uint64_t member_id = 0;
  AlarmType alarm = AlarmType::kNone;
  friend bool operator==(const AlarmMember&, const AlarmMember&) = default;
};

class AlarmStore {
 public:
  // Loads the raised alarms from `store`'s Backend (creating the bucket on a new store).
  static Result<std::unique_ptr<AlarmStore>> open(mvcc::KvStore& store);

  // Raises `alarm` for `member` as the entry at `index`; answers the alarm (raised now or
  // before), as etcd does.
  Result<std::vector<AlarmMember>> activate(uint64_t member, AlarmType alarm, uint64_t index);
  // Clears it; answers it if it was raised, nothing otherwise.
  Result<std::vector<AlarmMember>> deactivate(uint64_t member, AlarmType alarm, uint64_t index);

  // The raised alarms of type `alarm` (kNone: all of them), by member then type.
  std::vector<AlarmMember> list(AlarmType alarm) const;
  // Whether any member has raised `alarm`.
  bool active(AlarmType alarm) const;

 private:
  explicit AlarmStore(mvcc::KvStore& store) : store_(store) {}
  Status load();
  void count(AlarmType alarm, int delta);

  mvcc::KvStore& store_;
  mutable std::mutex mu_;
  std::set<std::pair<uint64_t, AlarmType>> raised_;
  std::atomic<int> nospace_{0};
  std::atomic<int> corrupt_{0};
};

}  // namespace keel::server

#endif  // KEEL_SERVER_ALARM_STORE_H_
