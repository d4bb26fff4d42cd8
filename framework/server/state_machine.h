// StateMachine: the replicated state one member holds, and how a committed entry changes it. It
// is the Backend in member/db, the MVCC store over it, and what that store keeps besides keys:
// the leases (with the lessor that expires them), the alarms and the members, plus the history
// the watch hub reads. A member replaces it whole when it installs a leader's store (node.h).
//
// apply() is etcd's applier: it decodes one committed entry, refuses it as etcd's capped
// (NOSPACE) and corrupt appliers do, changes the store at the entry's index, publishes the
// revision's events to the watch hub, and says what the proposer is answered. A configuration
// change entry changes the members as Raft applied it (member_store.h) and answers with the
// members after it.
//
// Thread safety: the MVCC store and the lessor are thread-safe; apply() and close() are the
// apply thread's. Swapping one state machine for another is the owner's to guard.
#ifndef KEEL_SERVER_STATE_MACHINE_H_
#define KEEL_SERVER_STATE_MACHINE_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "keel/backend.h"
#include "keel/clock.h"
#include "keel/status.h"
#include "keel/watch_hub.h"
#include "lease/lessor.h"
#include "mvcc/kv_store.h"
#include "mvcc/store_history.h"
#include "raft/raft.h"
#include "server/alarm_store.h"
#include "server/member_store.h"
#include "server/node_metrics.h"
#include "server/request.h"

namespace keel::server {

// What a replicated request answers, by kind.
using WriteResult =
    std::variant<std::monostate, mvcc::PutResponse, mvcc::DeleteRangeResponse, mvcc::TxnResponse,
                 mvcc::CompactResponse, lease::LeaseGrantResponse, lease::LeaseRevokeResponse,
                 std::vector<AlarmMember>, std::vector<Member>>;

struct StateMachineOptions {
  BackendPlugin* backend = nullptr;  // not owned
  std::string dir;                   // the Backend's directory (member/db)
  mvcc::StoreOptions store;
  std::chrono::milliseconds election_timeout{1000};  // the lessor's
  Clock* clock = nullptr;                            // not owned
  const NodeMetrics* metrics = nullptr;              // not owned; outlives the state machine
};

// An applied entry: whom to answer (request_id 0: nobody waits, as for the empty entry of a new
// leader), and with what.
struct AppliedEntry {
  uint64_t request_id = 0;
  Result<WriteResult> result = WriteResult();
  // A physical compaction: answer once the store's purge is done (wait_compaction()), off the
  // apply thread, as etcd does.
  bool after_purge = false;
  // The members changed (a configuration change or a MemberUpdate): the member's peers follow.
  bool members_changed = false;
};

class StateMachine {
 public:
  // Opens the Backend in options.dir and the store, lessor, alarms and members over it.
  static Result<std::unique_ptr<StateMachine>> open(const StateMachineOptions& options);
  ~StateMachine();
  StateMachine(const StateMachine&) = delete;
  StateMachine& operator=(const StateMachine&) = delete;

  // Applies the committed entry `e`, publishing its events to `hub`. Errors (the member must
  // stop): an entry that does not decode (Corruption), the store's I/O errors. A request the
  // store refuses (etcd's errors) is not an error here: it is the answer.
  Result<AppliedEntry> apply(const raft::Entry& e, WatchHub& hub);

  // Commits what the store holds and closes it; errors are logged by the caller. Idempotent.
  Status close();

  Backend& backend() { return *backend_; }
  mvcc::KvStore& kv() { return *kv_; }
  lease::Lessor& lessor() { return *lessor_; }
  AlarmStore& alarms() { return *alarms_; }
  MemberStore& members() { return *members_; }
  mvcc::StoreHistory& history() { return *history_; }

 private:
  explicit StateMachine(const StateMachineOptions& options) : options_(options) {}
  // A configuration change entry: the members change as Raft's did; the proposer gets them.
  Result<AppliedEntry> apply_conf_change(const raft::Entry& e);
  // The refusal of etcd's capped (NOSPACE) and corrupt appliers, or OK.
  Status alarm_refusal(const decltype(InternalRequest::body)& body) const;

  const StateMachineOptions options_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<mvcc::KvStore> kv_;
  std::unique_ptr<lease::Lessor> lessor_;
  std::unique_ptr<AlarmStore> alarms_;
  std::unique_ptr<MemberStore> members_;
  std::unique_ptr<mvcc::StoreHistory> history_;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_STATE_MACHINE_H_
