#include "server/state_machine.h"

#include "server/errors.h"
#include "server/quota.h"
#include "server/request_codec.h"

namespace keel::server {
namespace {

// A write result carries the store's error in the Status; an IOError means the store stopped.
template <typename T>
Result<WriteResult> widen(Result<T> r) {
  if (!r.ok()) return r.status();
  return WriteResult(std::move(r).value());
}

Result<WriteResult> widen(Status s) {
  if (!s.ok()) return s;
  return WriteResult();
}

}  // namespace

Result<std::unique_ptr<StateMachine>> StateMachine::open(const StateMachineOptions& options) {
  std::unique_ptr<StateMachine> sm(new StateMachine(options));
  const NodeMetrics& m = *options.metrics;
  BackendOptions backend_options;
  backend_options.dir = options.dir;
  Result<std::unique_ptr<Backend>> backend = options.backend->open(backend_options);
  if (!backend.ok()) return backend.status().with_context("opening the backend in " + options.dir);
  sm->backend_ = std::move(backend).value();

  mvcc::StoreOptions store_options = options.store;
  store_options.commit_duration = m.backend_commit;
  Result<std::unique_ptr<mvcc::KvStore>> kv = mvcc::KvStore::open(*sm->backend_, store_options);
  if (!kv.ok()) return kv.status();
  sm->kv_ = std::move(kv).value();

  lease::LessorOptions lessor_options;
  lessor_options.election_timeout = options.election_timeout;
  lessor_options.granted = m.leases_granted;
  lessor_options.revoked = m.leases_revoked;
  lessor_options.renewed = m.leases_renewed;
  lessor_options.granted_ttl = m.lease_ttl;
  Result<std::unique_ptr<lease::Lessor>> lessor = lease::Lessor::open(*sm->kv_, *options.clock, lessor_options);
  if (!lessor.ok()) return lessor.status();
  sm->lessor_ = std::move(lessor).value();

  Result<std::unique_ptr<AlarmStore>> alarms = AlarmStore::open(*sm->kv_);
  if (!alarms.ok()) return alarms.status();
  sm->alarms_ = std::move(alarms).value();
  Result<std::unique_ptr<MemberStore>> members = MemberStore::open(*sm->kv_);
  if (!members.ok()) return members.status();
  sm->members_ = std::move(members).value();
  sm->history_ = std::make_unique<mvcc::StoreHistory>(*sm->kv_);
  m.compact_revision->set(static_cast<double>(sm->kv_->compacted_revision()));
  return sm;
}

StateMachine::~StateMachine() { close(); }

Status StateMachine::close() {
  // What lives over the store goes first.
  history_.reset();
  lessor_.reset();
  alarms_.reset();
  members_.reset();
  Status s;
  if (kv_) s = kv_->close();
  kv_.reset();
  if (backend_) backend_->close();
  backend_.reset();
  return s;
}

Result<AppliedEntry> StateMachine::apply(const raft::Entry& e, WatchHub& hub) {
  if (e.type == raft::EntryType::kConfChange) return apply_conf_change(e);
  if (e.data.empty()) {
    // The new leader's empty entry.
    kv_->set_consistent_index(e.index);
    return AppliedEntry{};
  }
  Result<InternalRequest> decoded = decode_request(e.data);
  if (!decoded.ok()) return decoded.status().with_context("the entry at index " + std::to_string(e.index));
  const NodeMetrics& m = *options_.metrics;
  InternalRequest& request = *decoded;
  AppliedEntry applied;
  applied.request_id = request.id;
  std::vector<Event> events;
  auto publish = [&](int64_t revision) {
    if (!events.empty()) hub.publish(revision, std::move(events));
  };
  Result<WriteResult>& result = applied.result;
  if (Status refused = alarm_refusal(request.body); !refused.ok()) {
    kv_->set_consistent_index(e.index);
    result = refused;
  } else if (auto* put = std::get_if<mvcc::PutRequest>(&request.body)) {
    auto r = kv_->put(*put, e.index, &events);
    m.puts->inc();
    if (r.ok()) publish(r->header.revision);
    result = widen(std::move(r));
  } else if (auto* del = std::get_if<mvcc::DeleteRangeRequest>(&request.body)) {
    auto r = kv_->delete_range(*del, e.index, &events);
    m.deletes->inc();
    if (r.ok()) publish(r->header.revision);
    result = widen(std::move(r));
  } else if (auto* txn = std::get_if<mvcc::TxnRequest>(&request.body)) {
    auto r = kv_->txn(*txn, e.index, &events);
    m.txns->inc();
    if (r.ok()) publish(r->header.revision);
    result = widen(std::move(r));
  } else if (auto* compaction = std::get_if<CompactionRequest>(&request.body)) {
    auto r = kv_->compact(compaction->revision, e.index);
    if (r.ok()) {
      hub.compacted(compaction->revision);
      m.compact_revision->set(static_cast<double>(compaction->revision));
      applied.after_purge = compaction->physical;
    }
    result = widen(std::move(r));
  } else if (auto* grant = std::get_if<LeaseGrantRequest>(&request.body)) {
    result = widen(lessor_->grant(grant->id, grant->ttl, e.index));
  } else if (auto* revoke = std::get_if<LeaseRevokeRequest>(&request.body)) {
    auto r = lessor_->revoke(revoke->id, e.index, &events);
    if (r.ok()) publish(r->revision);
    result = widen(std::move(r));
  } else if (auto* checkpoint = std::get_if<LeaseCheckpointRequest>(&request.body)) {
    result = widen(lessor_->checkpoint(checkpoint->checkpoints, e.index));
  } else if (auto* attributes = std::get_if<MemberAttributesRequest>(&request.body)) {
    result = widen(members_->apply(*attributes, e.index));
  } else if (auto* update = std::get_if<MemberUpdateRequest>(&request.body)) {
    Status s = members_->apply(*update, e.index);
    applied.members_changed = s.ok();
    result = s.ok() ? Result<WriteResult>(WriteResult(members_->list())) : Result<WriteResult>(s);
  } else if (auto* alarm = std::get_if<AlarmRequest>(&request.body)) {
    if (alarm->action == AlarmRequest::Action::kActivate) {
      result = widen(alarms_->activate(alarm->member_id, alarm->alarm, e.index));
    } else if (alarm->action == AlarmRequest::Action::kDeactivate) {
      result = widen(alarms_->deactivate(alarm->member_id, alarm->alarm, e.index));
    } else {
      kv_->set_consistent_index(e.index);
      result = WriteResult(alarms_->list(alarm->alarm));
    }
  } else {
    return Status::Internal("the entry at index " + std::to_string(e.index) + " holds a request no applier handles");
  }
  if (!result.ok() && result.status().is_io_error()) return result.status().with_context("backend");
  return applied;
}

Result<AppliedEntry> StateMachine::apply_conf_change(const raft::Entry& e) {
  const std::string where = "the configuration change at index " + std::to_string(e.index);
  Result<raft::ConfChange> cc = raft::DecodeConfChange(e.data);
  if (!cc.ok()) return cc.status().with_context(where);
  Result<MemberChange> change = decode_member_change(cc->node_id, cc->context);
  if (!change.ok()) return change.status().with_context(where);
  Status s = members_->apply_conf_change(*cc, change->member, e.index);
  if (!s.ok()) return s.with_context(where);
  AppliedEntry applied;
  applied.request_id = change->request_id;
  applied.result = WriteResult(members_->list());
  applied.members_changed = true;
  return applied;
}

Status StateMachine::alarm_refusal(const decltype(InternalRequest::body)& body) const {
  if (alarms_->active(AlarmType::kCorrupt)) {
    // etcd's corrupt applier refuses every request but alarms (and keel's lease checkpoints and
    // member attributes and updates, which change no key; etcd's publish and member updates do
    // not pass its applier).
    if (!std::holds_alternative<AlarmRequest>(body) && !std::holds_alternative<LeaseCheckpointRequest>(body) &&
        !std::holds_alternative<MemberAttributesRequest>(body) && !std::holds_alternative<MemberUpdateRequest>(body)) {
      return ErrCorrupt();
    }
  }
  if (alarms_->active(AlarmType::kNoSpace) && guarded_by_quota(body)) return ErrNoSpace();
  return Status::OK();
}

}  // namespace keel::server
