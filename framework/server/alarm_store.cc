#include "server/alarm_store.h"

#include <string>

#include "mvcc/revision.h"

namespace keel::server {
namespace {

// Key: the member id (8 bytes, big-endian) then the alarm type (1 byte); the value is empty.
constexpr size_t kAlarmKeySize = 9;

std::string key_of(uint64_t member, AlarmType alarm) {
  std::string k;
  mvcc::append_u64_be(&k, member);
  k.push_back(static_cast<char>(alarm));
  return k;
}

}  // namespace

Result<std::unique_ptr<AlarmStore>> AlarmStore::open(mvcc::KvStore& store) {
  KEEL_RETURN_IF_ERROR(store.backend().create_bucket(kAlarmBucket));
  std::unique_ptr<AlarmStore> alarms(new AlarmStore(store));
  KEEL_RETURN_IF_ERROR(alarms->load());
  return alarms;
}

Status AlarmStore::load() {
  auto tx = store_.backend().begin_read();
  if (!tx.ok()) return tx.status();
  auto c = (*tx)->cursor(kAlarmBucket);
  if (!c.ok()) return c.status();
  std::lock_guard lock(mu_);
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
    std::string_view k = (*c)->key();
    const uint8_t type = k.size() == kAlarmKeySize ? static_cast<uint8_t>(k[8]) : 0;
    if (k.size() != kAlarmKeySize || type > static_cast<uint8_t>(AlarmType::kCorrupt)) {
      return Status::Corruption("alarm: malformed record in the alarm bucket");
    }
    const auto alarm = static_cast<AlarmType>(type);
    raised_.emplace(mvcc::read_u64_be(k.substr(0, 8)), alarm);
    count(alarm, 1);
  }
  return (*c)->status();
}

void AlarmStore::count(AlarmType alarm, int delta) {
  if (alarm == AlarmType::kNoSpace) nospace_ += delta;
  if (alarm == AlarmType::kCorrupt) corrupt_ += delta;
}

Result<std::vector<AlarmMember>> AlarmStore::activate(uint64_t member, AlarmType alarm, uint64_t index) {
  // NONE is raised like any alarm (etcd 3.4 stores and lists it too); it blocks nothing.
  bool added;
  {
    std::lock_guard lock(mu_);
    added = raised_.emplace(member, alarm).second;
  }
  if (added) {
    WriteBatch b;
    b.put(kAlarmBucket, key_of(member, alarm), "");
    KEEL_RETURN_IF_ERROR(store_.stage(b, index));
    count(alarm, 1);
  } else {
    store_.set_consistent_index(index);
  }
  return std::vector<AlarmMember>{{member, alarm}};
}

Result<std::vector<AlarmMember>> AlarmStore::deactivate(uint64_t member, AlarmType alarm, uint64_t index) {
  bool removed;
  {
    std::lock_guard lock(mu_);
    removed = raised_.erase({member, alarm}) > 0;
  }
  if (!removed) {
    store_.set_consistent_index(index);
    return std::vector<AlarmMember>{};
  }
  WriteBatch b;
  b.erase(kAlarmBucket, key_of(member, alarm));
  KEEL_RETURN_IF_ERROR(store_.stage(b, index));
  count(alarm, -1);
  return std::vector<AlarmMember>{{member, alarm}};
}

std::vector<AlarmMember> AlarmStore::list(AlarmType alarm) const {
  std::lock_guard lock(mu_);
  std::vector<AlarmMember> out;
  for (const auto& [member, type] : raised_) {
    if (alarm == AlarmType::kNone || alarm == type) out.push_back({member, type});
  }
  return out;
}

bool AlarmStore::active(AlarmType alarm) const {
  if (alarm == AlarmType::kNoSpace) return nospace_.load() > 0;
  if (alarm == AlarmType::kCorrupt) return corrupt_.load() > 0;
  return false;
}

}  // namespace keel::server
