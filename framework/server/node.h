// Node: one running member — the composition root of the kernel. It owns the Backend store, the
// MVCC store, the lessor, the watch hub, the WAL and the Raft state machine, and runs them on
// three threads (docs/design.md "The threads of a member"):
//
//   the Raft thread   ticks, feeds proposals and read requests to Raft, and has the Raft driver
//                     (raft_driver.h) take each Ready: WAL append (one fdatasync per Ready, so
//                     every proposal gathered while the previous sync ran shares the next one),
//                     messages in the order safety needs, then committed entries handed to the
//                     apply thread;
//   the apply thread  applies committed entries in order (one MVCC write per entry, Backend
//                     commits batched by the store), publishes each revision's events to the
//                     watch hub, answers the waiting calls by request id once their batch
//                     is applied, and releases the linearizable reads whose read index it
//                     has reached;
//   the read pool     sends a batch's answers when it has several (gRPC writes each one to its
//                     socket inline), runs the released reads, physical compactions' waits and
//                     the Backend size probes, so none holds up applying.
//
// The pieces it composes, each with one job: Raft over the WAL (raft_driver.h), the replicated
// state and the applier (state_machine.h), the callers waiting for their proposals
// (proposal_waiters.h) and for a read index (read_rounds.h), the peers (peer_network.h), the
// metrics (node_metrics.h).
//
// Writes: propose() encodes the request into a Raft entry, refuses it with etcd's errors when it
// is too large, when applying lags committing by more than kMaxApplyBacklog entries, or when
// there is no leader, and answers once the entry is applied (or with "request timed out").
// Reads: read_barrier() is etcd's linearizable read (ReadIndex, many reads sharing one round,
// then waiting until the applied index reaches it); serializable reads call range() directly.
//
// Quota and alarms: a Put, LeaseGrant or writing Txn that would take the Backend past the quota is
// refused ("etcdserver: mvcc: database space exceeded") and raises the NOSPACE alarm, which then
// refuses them at apply time too, on every member, until disarmed (alarm_store.h, quota.h).
//
// Snapshots: every snapshot_count applied entries the store is committed and a snapshot marks
// the WAL at the applied index (its data is empty: the state machine is the Backend, member/db,
// which holds at least that index durably); WAL segments and snapshot files beyond max_wals and
// max_snapshots are then purged.
//
// Catching up by snapshot: a follower that needs entries the leader's log no longer holds gets
// the leader's Backend instead (snapshot_transfer.h): the leader copies its store to a file and
// streams it beside Raft's messages; the follower restores it before Raft sees the snapshot,
// marks the snapshot in its WAL, and the apply thread swaps the store in (with the lessor, the
// alarms, the members and the watch history), in order with the entries around it. The copy may
// hold entries past the snapshot's index (it is taken when sent); the follower skips them when
// they arrive. Readers on other threads hold state_mu_ shared while they use the store; the swap
// holds it alone.
//
// Auto-compaction: the leader proposes compactions as --auto-compaction-mode says
// (auto_compactor.h).
//
// In a cluster (options.initial_cluster names other members): Raft's messages travel through the
// Transport plugin (peer_network.h); the leader sends its appends before its own WAL sync, a
// follower answers after its. A proposal made on a follower is forwarded to the leader by Raft,
// and a linearizable read on a follower asks the leader for the read index. The members, their
// peer and client URLs, are replicated state (member_store.h): each member publishes its name
// and client URLs through the log once it sees a leader (etcd's publish). A leader change fails
// the reads waiting on a ReadIndex round and the proposals handed to Raft before it at once
// ("leader changed"), rather than leaving them to time out. MoveLeader hands leadership to
// another member with Raft's leader transfer. A first start on an empty data dir asks the peers
// whether the cluster knows this member as started already, and refuses if so (etcd's rule: a
// member that lost its data is replaced, never restarted under its old id).
//
// Membership at run time (node_membership.cc, node_join.cc): etcd's MemberAdd, MemberRemove and
// MemberPromote are Raft configuration changes, one at a time, MemberUpdate an entry; the members
// (member_store.h) change as Raft's configuration does, and the peers follow them. A member added
// this way starts with --initial-cluster-state existing: it asks its peers for the cluster's id
// and members (a transport introduction), takes its id from them, and is caught up by the
// leader's snapshot. A removed member is removed() 10 ticks later; keeld then exits.
//
// Restart: the Backend's consistent index says which entries the store holds; the WAL gives back
// the rest, which are applied again. A failed WAL write or sync, or a failed Backend commit,
// stops the member for good (never retried): failure() then returns the error.
//
// Thread safety: every public method may be called from any thread. Callbacks run on the apply
// thread or the read pool; they must not block.
#ifndef KEEL_SERVER_NODE_H_
#define KEEL_SERVER_NODE_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "keel/backend.h"
#include "keel/clock.h"
#include "keel/logger.h"
#include "keel/status.h"
#include "keel/transport.h"
#include "keel/watch_hub.h"
#include "lease/lessor.h"
#include "metrics/metrics.h"
#include "mvcc/kv_store.h"
#include "mvcc/store_history.h"
#include "raft/raft.h"
#include "server/alarm_store.h"
#include "server/auto_compactor.h"
#include "server/member_store.h"
#include "server/node_metrics.h"
#include "server/peer_network.h"
#include "server/proposal_waiters.h"
#include "server/quota.h"
#include "server/raft_driver.h"
#include "server/read_rounds.h"
#include "server/request.h"
#include "server/state_machine.h"
#include "server/task_pool.h"
#include "wal/wal_storage.h"

namespace keel::server {

// etcd's maxGapBetweenApplyAndCommitIndex.
inline constexpr uint64_t kMaxApplyBacklog = 5000;

// A member of the cluster as --initial-cluster names it.
struct InitialMember {
  std::string name;
  std::vector<std::string> peer_urls;
};

struct NodeOptions {
  std::string name = "default";
  std::string data_dir;           // created 0700; holds member/wal, member/snap, member/db
  std::string wal_dir;            // empty: <data_dir>/member/wal
  std::vector<std::string> peer_urls;    // advertised; with the token they make the member id
  std::vector<std::string> client_urls;  // advertised
  std::string cluster_token = "etcd-cluster";
  // The cluster's members on its first start, this one among them (--initial-cluster). Empty: this
  // member alone. Their peer URLs and the token make their ids, and the ids the cluster's id.
  std::vector<InitialMember> initial_cluster;
  // --initial-cluster-state new: a first start (an empty data dir) asks its peers whether the
  // cluster already knows this member as started, and refuses to start if it does (etcd's
  // "member ... has already been bootstrapped": the member lost its data, and starting it anew
  // under the same id could lose acknowledged writes). existing: a first start joins the running
  // cluster that initial_cluster names (node_join.cc), which must list it already (MemberAdd);
  // the leader's snapshot then brings the log, the members and the store.
  bool initial_cluster_state_new = true;
  // etcd's --strict-reconfig-check: refuse membership changes that would leave too few started
  // or connected voters (reconfig_check.h).
  bool strict_reconfig_check = true;
  // etcd's --force-new-cluster: a restart (the data dir holds a log) drops the log's uncommitted
  // tail and commits the removal of every other member, so this member goes on alone with the
  // cluster's data and id (the way back from a lost quorum; the others must not come back).
  // Ignored on a first start, as etcd ignores it.
  bool force_new_cluster = false;
  std::vector<std::string> listen_peer_urls;
  std::chrono::milliseconds heartbeat_interval{100};
  std::chrono::milliseconds election_timeout{1000};
  bool pre_vote = true;
  uint64_t max_request_bytes = 1572864;
  size_t max_txn_ops = 128;
  size_t backend_batch_limit = 10000;
  std::chrono::milliseconds backend_batch_interval{100};
  size_t compaction_batch_limit = 1000;
  bool unsafe_no_fsync = false;
  int64_t quota_bytes = kDefaultQuotaBytes;  // <= 0: no quota
  uint64_t snapshot_count = 10000;           // applied entries between snapshots
  // Entries kept in the log behind a snapshot, so a follower a little behind catches up by log
  // rather than by snapshot (etcd's --experimental-snapshot-catchup-entries).
  uint64_t snapshot_catchup_entries = 5000;
  size_t max_snapshots = 5;                  // snapshot files kept (0: all)
  size_t max_wals = 5;                       // WAL segments kept (0: all)
  AutoCompactionPolicy auto_compaction;      // off by default, as etcd's
  // How long a proposal or a read waits before "request timed out" (etcd: 5 s + 2 × election).
  std::chrono::milliseconds request_timeout{0};  // 0: etcd's formula

  // Engines, not owned; they outlive the node.
  BackendPlugin* backend = nullptr;
  std::string backend_name;  // recorded in snapshot files
  WatchHubPlugin* watch_hub = nullptr;
  // Carries Raft's messages to the other members; may be null only for a member alone.
  TransportPlugin* transport = nullptr;
  std::chrono::milliseconds watch_progress_interval{10 * 60 * 1000};
  Logger* logger = nullptr;
  Clock* clock = nullptr;  // null: the steady clock
  // Where the member's measurements go (etcd's metric names); not owned, outlives the node.
  // Null: measured into a registry of the node's own, which nobody reads.
  metrics::Registry* metrics = nullptr;
};

using WriteCallback = std::function<void(Result<WriteResult>)>;

// etcd's membership changes: the Cluster service's MemberAdd, MemberRemove, MemberUpdate and
// MemberPromote.
struct MembershipChange {
  enum class Kind : uint8_t { kAdd, kRemove, kUpdate, kPromote };
  Kind kind = Kind::kAdd;
  uint64_t member_id = 0;              // kAdd: the new member's id, chosen by the caller
  std::vector<std::string> peer_urls;  // kAdd and kUpdate
  bool learner = false;                // kAdd
};
using MembersCallback = std::function<void(Result<std::vector<Member>>)>;
using ReadCallback = std::function<void(Status)>;

// What a response header carries, as of now.
struct HeaderInfo {
  uint64_t cluster_id = 0;
  uint64_t member_id = 0;
  int64_t revision = 0;
  uint64_t raft_term = 0;
};

struct NodeStatus {
  uint64_t member_id = 0;
  uint64_t leader = 0;
  uint64_t raft_term = 0;
  uint64_t raft_index = 0;    // committed
  uint64_t applied_index = 0;
  uint64_t db_size = 0;
  uint64_t db_size_in_use = 0;
  bool is_learner = false;  // as the members this member knows say
};

class Node {
 public:
  // Opens (or creates) the member in options.data_dir and starts its threads. Errors: the data
  // dir belongs to another engine, member or cluster (FailedPrecondition), damage (Corruption),
  // I/O errors.
  static Result<std::unique_ptr<Node>> open(const NodeOptions& options);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Replicates `body` and calls `done` once it is applied (with its answer) or refused.
  void propose(decltype(InternalRequest::body) body, WriteCallback done);
  // Calls `done` with OK once a read of the local store is linearizable (etcd's ReadIndex).
  void read_barrier(ReadCallback done);
  // etcd's lease keep-alive: renews on the leader's lessor, asking the leader from a follower.
  // `done` gets the lease's new TTL, NotFound for an unknown lease, or etcd's errors.
  void renew_lease(int64_t id, std::function<void(Result<int64_t>)> done);
  // etcd's LeaseTimeToLive, as the leader's lessor knows it (asked of the leader from a follower,
  // after a ReadIndex round on the leader, so a lease just granted is known).
  void lease_time_to_live(int64_t id, bool keys, std::function<void(Result<lease::LeaseTimeToLiveResponse>)> done);
  // Reads the local store (a serializable read, or a linearizable one after read_barrier).
  Result<mvcc::RangeResponse> range(const mvcc::RangeRequest& request) const;
  // A txn that writes nothing (mvcc::txn_writes), served as a read like range(): etcd answers
  // read-only txns without a Raft entry.
  Result<mvcc::TxnResponse> read_txn(const mvcc::TxnRequest& request) const;
  Result<mvcc::HashKvResponse> hash_kv(int64_t revision) const;
  // etcd's Hash: the whole Backend's CRC-32C (backend_hash.h), after committing what is applied.
  Result<uint32_t> hash();
  Status defragment();
  // A consistent copy of the Backend holding every write applied so far (the engine's format),
  // for etcd's Maintenance.Snapshot; writes go on meanwhile. The store's pending batch is
  // committed first, as etcd's snapshot forces a commit (the store's commits are thread-safe).
  Status copy_backend(ByteSink& out);

  // The raised alarms of one type (kNone: all), as of the last applied entry.
  std::vector<AlarmMember> alarms(AlarmType type) const;
  // etcd's MoveLeader: asks Raft to hand leadership to `target` and calls `done` with OK once
  // `target` leads (at once when it leads already), "not leader" on a follower, "bad leader
  // transferee" for an id that is not a voting member, or "request timed out, leader transfer
  // took too long" at `deadline`.
  void move_leader(uint64_t target, std::chrono::steady_clock::time_point deadline,
                   std::function<void(Status)> done);

  // Changes the membership as etcd does: checked (member_store.h's checks, and
  // reconfig_check.h's under strict_reconfig_check) after a linearizable read so the members
  // are current, then replicated as a Raft configuration change (an update as an entry), only
  // once the previous change is applied here; `done` gets the members once it is applied, or
  // etcd's refusal. A promote is decided by the leader (asked from a follower), which refuses a
  // learner not in sync with it; a leader removing itself hands leadership on first.
  void change_members(MembershipChange change, MembersCallback done);
  // Whether this member was removed from the cluster (10 ticks after the removal applied here,
  // so the leader's last answers reach the others, as etcd's stopWithDelay). It serves no more:
  // keeld exits.
  bool removed() const { return removed_.load(); }
  // Whether the members say this member is a learner (etcd's learner serves clients little).
  bool is_learner() const { return learner_.load(); }

  HeaderInfo header() const;
  NodeStatus status() const;
  bool has_leader() const { return leader_.load() != raft::kNone; }
  // Whether this member's name and client URLs are in the log, applied here (etcd serves clients
  // from then on: its ReadyNotify).
  bool published() const { return publish_state_.load() == 2; }
  // The cluster's members (etcd's MemberList).
  std::vector<Member> members() const;
  uint64_t member_id() const { return member_id_; }
  uint64_t cluster_id() const { return cluster_id_; }
  const NodeOptions& options() const { return options_; }
  WatchHub& watch_hub() { return *hub_; }
  // Runs `task` on the member's read pool: for a caller whose own thread must not wait on the
  // store (the HTTP server's one I/O thread). Must not block.
  void post(std::function<void()> task) { read_pool_.post(std::move(task)); }
  // The ids of the leases the member knows (etcd's LeaseLeases).
  std::vector<int64_t> leases() const;

  // Stops the threads, fails what waits with "server stopped", commits the store and closes it.
  // Idempotent; also done by the destructor.
  void stop();
  // The storage error that stopped the member, or OK while it runs.
  Status failure() const;

 private:
  struct Proposal {
    uint64_t id;
    std::string data;
  };
  // A MoveLeader waiting for its target to lead.
  struct LeaderMove {
    uint64_t target;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(Status)> done;
  };
  // What the Raft thread hands the apply thread, in log order: a snapshot from the leader to
  // install (when not empty), then committed entries.
  struct ApplyBatch {
    raft::Snapshot snapshot;
    std::vector<raft::Entry> entries;
  };
  class CurrentHistory;
  class RaftEvents;

  explicit Node(const NodeOptions& options);
  Status start();
  // A restart: takes the member and cluster ids from the log, and refuses a data dir that belongs
  // to another member (FailedPrecondition).
  Status check_restart_identity();
  // Says whether this member is a learner, to is_learner() and etcd_server_is_learner.
  void note_learner(bool learner) {
    learner_ = learner;
    m_.is_learner->set(learner ? 1 : 0);
  }
  // options_.force_new_cluster on a restart: writes the removals to the WAL as committed entries
  // after `*hard_state`'s commit (which it moves to the last of them); applying them on start
  // leaves this member the only voter. Refused (FailedPrecondition) for a member that never got
  // its cluster's log, or whose store (`applied`) is ahead of its log.
  Status force_new_cluster(raft::HardState* hard_state, uint64_t applied);
  // A first start with --initial-cluster-state existing (node_join.cc): asks the peers named in
  // `initial` for the running cluster's id and members, sets this member's ids from them, and
  // returns the members; etcd's refusals when --initial-cluster does not name them.
  Result<std::vector<Member>> join_cluster(const std::vector<Member>& initial);
  // Starts the peer network with `members` (this one left out) as its peers. Until the member
  // serves, peers' calls and snapshots are refused; their Raft messages wait in the inbox.
  Status start_peer_network(const std::vector<Member>& members);
  // A first start with --initial-cluster-state new: asks the peers among `members` for theirs, and
  // refuses (FailedPrecondition, etcd's text) when one answers that this member has published its
  // client URLs, i.e. started before. No answer within 5 s + the election timeout (etcd: 1 s +)
  // counts as "not bootstrapped", as etcd's isMemberBootstrapped; a peer reported unreachable
  // counts as no answer at once.
  Status refuse_if_bootstrapped(const std::vector<Member>& members);
  // Opens the state machine over the store in member/db: the Backend, the MVCC store, the
  // lessor, the alarms, the members and the history the watch hub reads.
  Status open_state_machine();
  // Closes it, committing what the store holds.
  void close_state_machine();
  // Apply thread (or start, before the threads): replaces the store with the one received for
  // `snapshot` and reopens the state machine over it.
  Status install_snapshot(const raft::SnapshotMetadata& snapshot);
  // Transport threads: a leader's snapshot; restores its store, then hands Raft the message.
  Status receive_snapshot(uint64_t from, std::string_view metadata, ByteSource& data);
  // Raft thread: streams this member's store to `m.to` for Raft's snapshot message `m`.
  void send_snapshot(raft::Message m);
  // Encodes a request with a fresh id; refuses it as etcd does when too large or when applying
  // lags committing.
  Result<Proposal> make_proposal(decltype(InternalRequest::body) body);
  void raft_loop();
  // Raft thread: takes Raft's Ready through the driver (raft_driver.h); stops the member when the
  // WAL fails.
  void handle_ready();
  void apply_loop();
  void apply_entry(const raft::Entry& entry);
  // Apply thread: commits the store and asks the Raft thread to snapshot at `index`.
  void request_snapshot(uint64_t index);
  // Raft thread, each tick on the leader: proposes the compaction the policy asks for.
  void propose_auto_compaction();
  // Refreshes db_size_ and the gauges read from the engines, off the caller's thread (one probe
  // at a time).
  void probe_sizes();
  // Reads the Backend's size into db_size_ and the gauges; measure_db_size() is for a caller
  // that holds state_mu_ already (either way).
  void record_db_size();
  void measure_db_size();
  // Raises NOSPACE (once) when `body` would take the Backend past the quota.
  Status check_quota(const decltype(InternalRequest::body)& body);
  // Calls each read with `s` on the read pool.
  void serve_reads(std::vector<ReadCallback> reads, const Status& s);
  void expire_waiters(std::chrono::steady_clock::time_point now);
  // Raft thread: replicates a request no client waits for (lease revokes and checkpoints).
  void propose_internal(decltype(InternalRequest::body) body);
  // Raft thread, each tick: on the leader, proposes revoking expired leases and checkpoints due.
  void propose_lease_upkeep();
  void fail(Status s);
  // Raft thread: sends a Ready's messages to the peers; a snapshot message becomes a stream of
  // the store (send_snapshot).
  void send_messages(std::vector<raft::Message>& messages);
  // Calls `leader` and gives `done` the answer as `decode` reads it, or the call's error.
  template <typename T>
  void ask_leader(uint64_t leader, PeerMethod method, std::string body, Result<T> (*decode)(std::string_view),
                  std::function<void(Result<T>)> done) {
    peers_->call(leader, method, std::move(body), std::chrono::steady_clock::now() + request_timeout_,
                 [decode, done = std::move(done)](Result<std::string> answer) {
                   if (!answer.ok()) return done(answer.status());
                   done(decode(*answer));
                 });
  }
  // Transport threads: a peer's call (the leader answering a follower's lease requests, any
  // member telling a starting one the members it knows).
  void serve_call(uint64_t from, PeerMethod method, std::string body,
                  std::function<void(Result<std::string>)> reply);
  // The leader to ask from a follower, or why there is none (ErrNoLeader); kNone on the leader.
  Result<uint64_t> leader_to_ask() const;
  // Raft thread: proposes this member's name and client URLs once a leader exists (etcd's
  // publish), again after a failure.
  void publish_attributes();
  // Raft thread, after whatever may move leadership (stepping messages, ticking): when the
  // leader Raft knows changed, starts a new leader epoch and fails what the change strands with
  // "leader changed" — the reads waiting on a ReadIndex round and the proposals handed to Raft
  // before it (proposal_waiters.h) — and answers the MoveLeader calls it settles.
  void note_leader();
  // Raft thread: fails every read waiting on a ReadIndex round: the leader that was asked may
  // never answer.
  void fail_read_rounds(Status s);
  // Raft thread: answers the MoveLeader calls whose target leads or whose deadline has passed.
  void settle_leader_moves(std::chrono::steady_clock::time_point now);
  // A configuration change waiting on the Raft thread until the previous one is applied here.
  struct ConfProposal {
    uint64_t id;
    raft::ConfChange change;
    bool promote;  // the leader checks that the learner is in sync first
  };
  // After the linearizable read: etcd's checks of `change`, then its proposal.
  void check_and_propose(const MembershipChange& change, MembersCallback done);
  // etcd's refusals of `change` as the members stand (state_mu_ held shared).
  Status check_membership_change(const MembershipChange& change) const;
  // Raft thread: proposes the configuration changes whose turn has come (the last one applied
  // here); the others wait.
  void propose_conf_changes();
  // Raft thread, on the leader: etcd's isLearnerReady (match at least 90% of the leader's).
  Status learner_ready(uint64_t id) const;
  // Apply thread: the peers become the members, and a removal of this member is noted.
  void follow_members();
  // Raft thread, each tick: after two election timeouts without a leader, asks the peers whether
  // this member was removed (its removal may have committed without it learning so: the leader
  // stops sending to a member it removed), and again every two election timeouts after that.
  void ask_if_removed();
  // Raft thread, each tick: once this member's removal was applied 10 ticks ago, it is removed().
  void note_removal();
  // Fails writes taken out of writes_ with `s`.
  void fail_writes(std::vector<WriteCallback> writes, const Status& s);
  // The waiting call's callback for `id`, taken out of writes_ (empty if none waits).
  WriteCallback take_waiter(uint64_t id);
  void complete(uint64_t id, Result<WriteResult> result);
  // Apply thread: queues the answer for `id` until the batch is applied; send_answers() sends
  // the batch's answers.
  void answer(uint64_t id, Result<WriteResult> result);
  void send_answers();
  uint64_t next_request_id();
  // Fails a proposal Raft or the member refused (not an answer of the store's).
  void fail_proposal(uint64_t id, Status s);

  const NodeOptions options_;
  std::chrono::milliseconds request_timeout_;
  uint64_t member_id_ = 0;
  uint64_t cluster_id_ = 0;

  std::unique_ptr<metrics::Registry> own_metrics_;
  NodeMetrics m_{};  // in options_.metrics, or in own_metrics_
  std::unique_ptr<Clock> own_clock_;
  Clock* clock_ = nullptr;
  std::unique_ptr<StateMachine> state_;  // replaced whole by install_snapshot
  std::unique_ptr<PeerNetwork> peers_;
  std::atomic<int> publish_state_{0};  // 0 not yet, 1 proposed, 2 applied
  std::unique_ptr<CurrentHistory> current_history_;  // what the hub reads: state_'s, locked
  std::unique_ptr<WatchHub> hub_;
  std::unique_ptr<wal::WalStorage> storage_;
  raft::SplitMix64 random_;
  std::unique_ptr<RaftDriver> driver_;   // the Raft thread's alone
  std::unique_ptr<RaftEvents> raft_events_;  // what the driver hands out, back into the member
  AutoCompactor auto_compactor_;         // the Raft thread's
  uint64_t snapshot_requested_ = 0;      // the apply thread's: the index of the last request
  // The apply thread's: the answers of the batch being applied.
  std::vector<std::pair<WriteCallback, Result<WriteResult>>> answers_;

  // Shared state, read anywhere.
  std::atomic<uint64_t> leader_{raft::kNone};
  std::atomic<uint64_t> term_{0};
  std::atomic<uint64_t> committed_{0};
  std::atomic<uint64_t> applied_{0};
  std::atomic<uint64_t> request_seq_{0};
  std::atomic<uint64_t> db_size_{0};      // the Backend's size at the last probe
  std::atomic<bool> probing_{false};
  std::atomic<bool> serving_{false};      // set once start() has started the threads
  std::atomic<bool> removal_applied_{false};  // this member's removal is applied here
  std::atomic<bool> learner_{false};
  std::atomic<bool> removed_{false};
  uint64_t request_id_base_ = 0;

  // The Raft thread's inbox.
  std::mutex raft_mu_;
  std::condition_variable raft_cv_;
  std::deque<Proposal> proposals_;
  std::vector<raft::Message> messages_in_;              // from peers
  std::vector<uint64_t> unreachable_in_;                // peers the transport could not reach
  std::vector<std::pair<uint64_t, bool>> snapshots_sent_;  // peer, whether it took it
  std::vector<ReadCallback> reads_waiting_;             // not yet in a round
  std::vector<uint64_t> snapshots_due_;                 // indexes the apply thread committed
  std::vector<LeaderMove> moves_in_;                    // not yet asked of Raft
  std::deque<ConfProposal> conf_changes_in_;            // not yet handed to the Raft thread
  uint64_t read_seq_ = 0;
  bool stopping_ = false;

  // The Raft thread's: the leader Raft knew last, the leader epoch (changes of it seen), and the
  // MoveLeader calls asked of Raft.
  uint64_t epoch_lead_ = raft::kNone;
  uint64_t leader_epoch_ = 1;
  std::vector<LeaderMove> moves_;
  std::deque<ConfProposal> conf_changes_;  // waiting for the previous change to apply
  int removal_ticks_ = 0;                  // ticks since this member's removal applied
  int leaderless_ticks_ = 0;               // ticks in a row without a leader

  // Writes waiting for their entry to apply, by request id.
  ProposalWaiters<WriteCallback> writes_;
  // Linearizable reads asked of Raft, then waiting for the applied index.
  ReadRounds<ReadCallback> read_rounds_{applied_};

  // The apply thread's inbox, and the reads waiting for an applied index.
  std::mutex apply_mu_;
  std::condition_variable apply_cv_;
  std::deque<ApplyBatch> to_apply_;
  bool apply_stopping_ = false;

  TaskPool read_pool_;

  mutable std::mutex stop_mu_;
  std::condition_variable stopped_cv_;
  bool stop_called_ = false;
  bool stopped_ = false;  // stop() finished
  Status failure_;
  std::atomic<bool> failed_{false};

  // The state machine's objects above are replaced whole by install_snapshot (apply thread,
  // holding this alone); other threads hold it shared while they use them.
  mutable std::shared_mutex state_mu_;
  std::string member_dir_;
  std::mutex receive_mu_;  // one snapshot restored at a time

  std::mutex senders_mu_;
  std::vector<std::thread> snapshot_senders_;  // joined by stop()

  std::thread raft_thread_;
  std::thread apply_thread_;
};

}  // namespace keel::server

#endif  // KEEL_SERVER_NODE_H_
