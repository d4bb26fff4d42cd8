#include "server/node.h"

#include <cstdlib>
#include <filesystem>

#include <algorithm>
#include <cstddef>
#include <string>

#include "failpoint/failpoint.h"
#include "mvcc/errors.h"
#include "server/backend_hash.h"
#include "server/errors.h"
#include "server/member_id.h"
#include "server/request_codec.h"
#include "server/snapshot_transfer.h"
#include "wal/file_system.h"

namespace keel::server {
namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

class SteadyClock : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
};

// What a starting member answers a peer's call or snapshot before it serves.
Status not_serving_yet() { return Status::Unavailable("the member is still starting"); }

}  // namespace

// The store's history for the watch hub, read under state_mu_ so a swap never pulls the store
// from under a watcher catching up.
class Node::CurrentHistory : public EventHistory {
 public:
  explicit CurrentHistory(Node& node) : node_(node) {}
  Status read_events(const std::string& key, const std::string& range_end, int64_t from, int64_t to,
                     size_t max_events, bool with_prev_kv, std::vector<Event>* out,
                     int64_t* compacted_at) override {
    std::shared_lock lock(node_.state_mu_);
    return node_.state_->history().read_events(key, range_end, from, to, max_events, with_prev_kv, out, compacted_at);
  }
  int64_t current_revision() override {
    std::shared_lock lock(node_.state_mu_);
    return node_.state_->history().current_revision();
  }
  int64_t compacted_revision() override {
    std::shared_lock lock(node_.state_mu_);
    return node_.state_->history().compacted_revision();
  }

 private:
  Node& node_;
};

Node::Node(const NodeOptions& options)
    : options_(options),
      request_timeout_(options.request_timeout.count() > 0
                           ? options.request_timeout
                           : std::chrono::milliseconds(5000) + 2 * options.election_timeout),
      random_(0),
      auto_compactor_(options.auto_compaction),
      read_pool_(2) {}

// The driver's output, back into the member (the Raft thread's).
class Node::RaftEvents : public RaftOutput {
 public:
  explicit RaftEvents(Node& node) : node_(node) {}

  void on_soft_state(const raft::SoftState& soft) override {
    const bool was_leader = node_.leader_.load() == node_.member_id_;
    const uint64_t old_lead = node_.leader_.exchange(soft.lead);
    if (soft.lead != old_lead && soft.lead != raft::kNone) node_.m_.leader_changes->inc();
    node_.m_.has_leader->set(soft.lead != raft::kNone ? 1 : 0);
    node_.m_.is_leader->set(soft.role == raft::Role::kLeader ? 1 : 0);
    const bool is_leader = soft.role == raft::Role::kLeader;
    std::shared_lock state(node_.state_mu_);
    if (is_leader && !was_leader) {
      node_.state_->lessor().promote(node_.options_.election_timeout);
      node_.auto_compactor_.restart(std::chrono::steady_clock::now());
      log(node_.options_.logger, LogLevel::kInfo, "member " + id_to_hex(node_.member_id_) + " leads");
    } else if (!is_leader && was_leader) {
      node_.state_->lessor().demote();
    }
  }

  void send(std::vector<raft::Message>& messages) override { node_.send_messages(messages); }

  void on_hard_state(const raft::HardState& hard) override {
    node_.term_ = hard.term;
    node_.committed_ = hard.commit;
    node_.m_.proposals_committed->set(static_cast<double>(hard.commit));
  }

  void on_read_states(const std::vector<raft::ReadState>& states) override {
    for (const raft::ReadState& rs : states) {
      node_.serve_reads(node_.read_rounds_.answered(rs.request_ctx, rs.index), Status::OK());
    }
  }

  // Nothing proposes a membership change yet (run-time membership comes with the Cluster
  // service's MemberAdd and MemberRemove); one that arrives from the log is applied to Raft by
  // the driver and said here.
  void on_conf_change(uint64_t index, const raft::ConfChange& change, const raft::ConfState& membership) override {
    log(node_.options_.logger, LogLevel::kInfo,
        "configuration change at index " + std::to_string(index) + " applied (member " + id_to_hex(change.node_id) +
            "): " + std::to_string(membership.voters.size()) + " voters, " +
            std::to_string(membership.learners.size()) + " learners");
  }

  // The apply thread swaps the store received for the snapshot in before the entries after it.
  void apply_snapshot(raft::Snapshot snapshot) override { hand_to_apply(ApplyBatch{std::move(snapshot), {}}); }
  void apply_entries(std::vector<raft::Entry> entries) override { hand_to_apply(ApplyBatch{{}, std::move(entries)}); }

 private:
  void hand_to_apply(ApplyBatch batch) {
    std::lock_guard<std::mutex> lock(node_.apply_mu_);
    node_.to_apply_.push_back(std::move(batch));
    node_.apply_cv_.notify_one();
  }

  Node& node_;
};

Result<std::unique_ptr<Node>> Node::open(const NodeOptions& options) {
  if (options.backend == nullptr || options.watch_hub == nullptr) {
    return Status::InvalidArgument("a member needs a backend and a watch hub");
  }
  if (options.heartbeat_interval.count() <= 0 ||
      options.election_timeout < 2 * options.heartbeat_interval) {
    return Status::InvalidArgument("the election timeout must be at least twice the heartbeat");
  }
  std::unique_ptr<Node> node(new Node(options));
  KEEL_RETURN_IF_ERROR(node->start());
  return node;
}

Status Node::start() {
  if (options_.metrics == nullptr) own_metrics_ = std::make_unique<metrics::Registry>();
  m_ = register_node_metrics(options_.metrics != nullptr ? *options_.metrics : *own_metrics_, options_.quota_bytes);
  wal::FileSystem& fs = wal::posix_file_system();
  const std::string member_dir = options_.data_dir + "/member";
  KEEL_RETURN_IF_ERROR(fs.create_dirs(options_.data_dir));
  KEEL_RETURN_IF_ERROR(fs.create_dirs(member_dir));

  member_id_ = compute_member_id(options_.peer_urls, options_.cluster_token);
  std::vector<Member> initial_members;
  for (const InitialMember& m : options_.initial_cluster) {
    initial_members.push_back(Member{compute_member_id(m.peer_urls, options_.cluster_token), m.name, m.peer_urls, {}, false});
  }
  if (initial_members.empty()) initial_members.push_back(Member{member_id_, options_.name, options_.peer_urls, {}, false});
  std::vector<uint64_t> voters;
  for (const Member& m : initial_members) voters.push_back(m.id);
  if (std::find(voters.begin(), voters.end(), member_id_) == voters.end()) {
    return Status::InvalidArgument("this member's peer URLs are not among the initial cluster's");
  }
  cluster_id_ = compute_cluster_id(voters);
  if (voters.size() > 1 && options_.transport == nullptr) {
    return Status::InvalidArgument("a member of a cluster of " + std::to_string(voters.size()) +
                                   " needs a transport");
  }
  if (options_.clock == nullptr) own_clock_ = std::make_unique<SteadyClock>();
  clock_ = options_.clock != nullptr ? options_.clock : own_clock_.get();

  // The state machine first: its consistent index says where the WAL's replay starts.
  member_dir_ = member_dir;
  KEEL_RETURN_IF_ERROR(finish_install(member_dir + "/db"));
  KEEL_RETURN_IF_ERROR(open_state_machine());
  current_history_ = std::make_unique<CurrentHistory>(*this);
  WatchHubOptions hub_options;
  hub_options.history = current_history_.get();
  hub_options.logger = options_.logger;
  hub_options.clock = clock_;
  hub_options.progress_interval = options_.watch_progress_interval;
  Result<std::unique_ptr<WatchHub>> hub = options_.watch_hub->create(hub_options);
  if (!hub.ok()) return hub.status();
  hub_ = std::move(hub).value();

  wal::WalOptions wal_options;
  wal_options.unsafe_no_fsync = options_.unsafe_no_fsync;
  wal_options.logger = options_.logger;
  wal_options.wal_dir = options_.wal_dir;
  Result<bool> have_log = wal::WalStorage::exists(fs, member_dir, wal_options);
  if (!have_log.ok()) return have_log.status();
  // The members the peer network starts with: the recorded ones, or on a first start (or a crash
  // before they were recorded) the initial cluster's, or the running cluster's for a member that
  // joins it.
  std::vector<Member> members = state_->members().list();
  if (*have_log) {
    // A restart: the member and cluster ids are the log's, whatever the flags say (as etcd).
    Result<std::unique_ptr<wal::WalStorage>> storage =
        wal::WalStorage::open(fs, member_dir, wal::WalMetadata{}, wal_options);
    if (!storage.ok()) return storage.status();
    storage_ = std::move(storage).value();
    KEEL_RETURN_IF_ERROR(check_restart_identity());
  } else if (!options_.initial_cluster_state_new) {
    if (options_.transport == nullptr) {
      return Status::InvalidArgument("joining a running cluster (--initial-cluster-state existing) needs a transport");
    }
    Result<std::vector<Member>> running = join_cluster(initial_members);
    if (!running.ok()) return running.status();
    members = std::move(running).value();
  }
  if (members.empty()) members = initial_members;
  if (options_.transport != nullptr) {
    KEEL_RETURN_IF_ERROR(start_peer_network(members));
    // Before the log is created: a refused member leaves no log behind.
    if (!*have_log && options_.initial_cluster_state_new) KEEL_RETURN_IF_ERROR(refuse_if_bootstrapped(members));
  }
  if (storage_ == nullptr) {
    Result<std::unique_ptr<wal::WalStorage>> storage =
        wal::WalStorage::open(fs, member_dir, wal::WalMetadata{member_id_, cluster_id_}, wal_options);
    if (!storage.ok()) return storage.status();
    storage_ = std::move(storage).value();
  }
  // A member joining a running cluster starts with an empty log and no membership: the leader's
  // snapshot brings both (and its store), also after a restart before it came.
  const bool joining = storage_->needs_bootstrap() && !options_.initial_cluster_state_new;
  if (storage_->needs_bootstrap() && !joining) {
    raft::ConfState conf;
    conf.voters = voters;
    std::sort(conf.voters.begin(), conf.voters.end());
    KEEL_RETURN_IF_ERROR(storage_->bootstrap(conf));
  }
  // Before or after the WAL's bootstrap alike (a crash between the two): the members bucket is
  // written once, from the same --initial-cluster every member was started with.
  if (!joining) KEEL_RETURN_IF_ERROR(state_->members().bootstrap(initial_members));
  // A joiner not caught up yet knows whether it is a learner from the members its peers named.
  std::optional<Member> self = state_->members().find(member_id_);
  for (const Member& m : members) {
    if (!self && m.id == member_id_) self = m;
  }
  note_learner(self && self->is_learner);
  // The member's id is known for good now (a restart's is the log's, a joiner's the cluster's).
  random_ = raft::SplitMix64(member_id_ ^ static_cast<uint64_t>(
                                              std::chrono::steady_clock::now().time_since_epoch().count()));
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  // etcd's request ids: the member's low 16 bits, then time, so ids differ across restarts.
  request_id_base_ = ((member_id_ & 0xffff) << 48) | ((ms & ((1ull << 40) - 1)) << 8);

  Result<raft::Snapshot> snap = storage_->snapshot();
  if (!snap.ok()) return snap.status();
  if (state_->kv().consistent_index() < snap->metadata.index && snap->metadata.index > 1) {
    // The WAL took a leader's snapshot the store never replaced it with (a crash before the
    // apply thread swapped it in): the received store is where the state machine goes on.
    const std::string received = received_backend_dir(storage_->snap_dir(), snap->metadata.index);
    if (!std::filesystem::exists(received)) {
      return Status::Corruption("the WAL continues from a snapshot at index " + std::to_string(snap->metadata.index) +
                                ", but the store holds index " + std::to_string(state_->kv().consistent_index()) +
                                " and " + received + " is missing");
    }
    KEEL_RETURN_IF_ERROR(install_snapshot(snap->metadata));
  }
  KEEL_RETURN_IF_ERROR(remove_received_backends(storage_->snap_dir(), UINT64_MAX));
  const uint64_t applied = std::max(state_->kv().consistent_index(), snap->metadata.index);
  Result<raft::InitialState> initial = storage_->initial_state();
  if (!initial.ok()) return initial.status();
  if (applied > initial->hard_state.commit) {
    // A commit index alone is saved without a sync (Raft needs none for it), so the Backend may
    // have committed entries the WAL's hard state does not yet say are committed. They were:
    // only committed entries are applied. Say so durably, as long as the WAL holds them.
    Result<uint64_t> last = storage_->last_index();
    if (!last.ok()) return last.status();
    // A store received from the leader may hold entries past its snapshot that the WAL has not
    // received yet: they come from the leader again, and are skipped then.
    if (applied > *last && !storage_->snapshot_from_leader()) {
      return Status::Corruption("the backend has applied index " + std::to_string(applied) +
                                " but the WAL ends at index " + std::to_string(*last));
    }
    raft::HardState hs = initial->hard_state;
    hs.commit = std::max(hs.commit, std::min(applied, *last));
    if (hs.commit != initial->hard_state.commit) KEEL_RETURN_IF_ERROR(storage_->persist(hs, {}, true));
    initial->hard_state = hs;
  }
  if (*have_log && options_.force_new_cluster) KEEL_RETURN_IF_ERROR(force_new_cluster(&initial->hard_state, applied));
  applied_ = applied;
  snapshot_requested_ = snap->metadata.index;
  committed_ = initial->hard_state.commit;
  m_.proposals_applied->set(static_cast<double>(applied));
  m_.proposals_committed->set(static_cast<double>(committed_.load()));
  term_ = initial->hard_state.term;

  raft::Config config;
  config.id = member_id_;
  config.heartbeat_tick = 1;
  config.election_tick =
      static_cast<int>(options_.election_timeout.count() / options_.heartbeat_interval.count());
  config.random = &random_;
  config.applied = std::min(applied, initial->hard_state.commit);
  config.pre_vote = options_.pre_vote;
  config.check_quorum = true;
  config.max_uncommitted_entries_size = 1ull << 30;
  config.max_committed_size_per_ready = 64ull << 20;
  RaftDriverOptions driver_options;
  driver_options.unsafe_no_fsync = options_.unsafe_no_fsync;
  driver_options.backend_name = options_.backend_name;
  driver_options.snapshot_catchup_entries = options_.snapshot_catchup_entries;
  driver_options.max_wals = options_.max_wals;
  driver_options.max_snapshots = options_.max_snapshots;
  driver_options.logger = options_.logger;
  driver_options.wal_fsync = m_.wal_fsync;
  Result<std::unique_ptr<RaftDriver>> driver = RaftDriver::open(*storage_, config, std::move(driver_options));
  if (!driver.ok()) return driver.status();
  driver_ = std::move(driver).value();
  raft_events_ = std::make_unique<RaftEvents>(*this);

  log(options_.logger, LogLevel::kInfo,
      "member " + id_to_hex(member_id_) + " of cluster " + id_to_hex(cluster_id_) +
          ": store at revision " + std::to_string(state_->kv().current_revision()) + ", applied index " +
          std::to_string(applied) + ", WAL committed up to " + std::to_string(committed_.load()));

  // A member alone in its cluster need not wait out an election timeout to lead.
  const raft::ConfState& conf = snap->metadata.conf_state;
  if (conf.voters.size() == 1 && conf.voters[0] == member_id_) driver_->raft().campaign();

  raft_thread_ = std::thread([this] { raft_loop(); });
  apply_thread_ = std::thread([this] { apply_loop(); });
  serving_ = true;
  return Status::OK();
}

Status Node::check_restart_identity() {
  const uint64_t flagged = member_id_;
  member_id_ = storage_->metadata().member_id;
  cluster_id_ = storage_->metadata().cluster_id;
  if (member_id_ == flagged) return Status::OK();
  // A member that joined at run time has an id no flag gives; the data dir is still this
  // member's when the members it records (if any yet) give its id these peer URLs.
  std::vector<Member> recorded = state_->members().list();
  std::optional<Member> self = state_->members().find(member_id_);
  if (recorded.empty() || (self && same_peer_urls(self->peer_urls, options_.peer_urls))) return Status::OK();
  return Status::FailedPrecondition("the data in " + options_.data_dir + " belongs to member " + id_to_hex(member_id_) +
                                    ", not " + id_to_hex(flagged) + " (these peer URLs and cluster token)");
}

Status Node::start_peer_network(const std::vector<Member>& members) {
  PeerNetworkOptions net;
  net.member_id = member_id_;
  net.cluster_id = cluster_id_;
  net.listen_urls = options_.listen_peer_urls;
  // An append is cut to max_request_bytes' worth of entries; room for the message around it.
  net.max_frame_bytes = std::max<size_t>(16u << 20, 2 * options_.max_request_bytes + (1u << 20));
  net.on_message = [this](raft::Message m) {
    std::lock_guard<std::mutex> lock(raft_mu_);
    messages_in_.push_back(std::move(m));
    raft_cv_.notify_one();
  };
  net.on_unreachable = [this](uint64_t peer) {
    std::lock_guard<std::mutex> lock(raft_mu_);
    unreachable_in_.push_back(peer);
  };
  net.on_snapshot = [this](uint64_t from, std::string_view metadata, ByteSource& data) {
    if (!serving_) return not_serving_yet();
    return receive_snapshot(from, metadata, data);
  };
  net.on_call = [this](uint64_t from, PeerMethod method, std::string body,
                       std::function<void(Result<std::string>)> reply) {
    if (!serving_) return reply(not_serving_yet());
    serve_call(from, method, std::move(body), std::move(reply));
  };
  net.on_introduction = [this](std::string_view question) -> Result<std::string> {
    if (!serving_) return not_serving_yet();
    std::shared_lock lock(state_mu_);
    if (Result<uint64_t> asker = decode_removal_question(question); asker.ok()) {
      return std::string(1, state_->members().is_removed(*asker) ? '\1' : '\0');
    }
    KEEL_RETURN_IF_ERROR(decode_cluster_question(question));
    return encode_cluster_introduction(ClusterIntroduction{cluster_id_, state_->members().list()});
  };
  net.logger = options_.logger;
  net.metrics = options_.metrics != nullptr ? options_.metrics : own_metrics_.get();
  Result<std::unique_ptr<PeerNetwork>> network = PeerNetwork::start(*options_.transport, std::move(net));
  if (!network.ok()) return network.status();
  peers_ = std::move(network).value();
  for (const Member& m : members) {
    if (m.id == member_id_) continue;
    Status added = peers_->add_peer(m.id, m.peer_urls);
    if (!added.ok()) return added.with_context("peer " + id_to_hex(m.id));
  }
  return Status::OK();
}

Status Node::refuse_if_bootstrapped(const std::vector<Member>& members) {
  struct Answers {
    std::mutex mu;
    std::condition_variable cv;
    size_t waiting = 0;
    bool answered = false;  // a peer told its members: etcd decides on the first such answer
    bool bootstrapped = false;
  };
  auto answers = std::make_shared<Answers>();
  // etcd waits 1 s + the election timeout for an HTTP answer on the connection it asked on; a
  // peer's answer here travels back on the peer's own connection to this member, which may be in
  // its reconnect backoff (up to a second in both transports, longer in gRPC's channel): 5 s more.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5) + options_.election_timeout;
  std::vector<uint64_t> peers;
  for (const Member& m : members) {
    if (m.id != member_id_) peers.push_back(m.id);
  }
  answers->waiting = peers.size();
  for (uint64_t peer : peers) {
    peers_->call(
        peer, PeerMethod::kMembers, std::string(), deadline,
        [answers, self = member_id_](Result<std::string> body) {
          Result<std::vector<Member>> known =
              body.ok() ? decode_members(*body) : Result<std::vector<Member>>(body.status());
          std::lock_guard<std::mutex> lock(answers->mu);
          --answers->waiting;
          if (known.ok() && !answers->answered) {
            answers->answered = true;
            for (const Member& m : *known) {
              if (m.id == self && !m.client_urls.empty()) answers->bootstrapped = true;
            }
          }
          answers->cv.notify_all();
        },
        PeerNetwork::IfUnreachable::kFail);
  }
  bool bootstrapped;
  {
    std::unique_lock<std::mutex> lock(answers->mu);
    answers->cv.wait_until(lock, deadline, [&] { return answers->answered || answers->waiting == 0; });
    bootstrapped = answers->bootstrapped;
  }
  peers_->expire_calls(deadline, Status::DeadlineExceeded("no answer"));  // those still waiting
  if (bootstrapped) {
    return Status::FailedPrecondition("member " + id_to_go_hex(member_id_) + " has already been bootstrapped");
  }
  return Status::OK();
}

Status Node::open_state_machine() {
  StateMachineOptions sm;
  sm.backend = options_.backend;
  sm.dir = member_dir_ + "/db";
  sm.store.batch_limit = options_.backend_batch_limit;
  sm.store.batch_interval = options_.backend_batch_interval;
  sm.store.compaction_batch_limit = options_.compaction_batch_limit;
  sm.store.sync_commits = !options_.unsafe_no_fsync;
  sm.store.max_txn_ops = options_.max_txn_ops;
  sm.election_timeout = options_.election_timeout;
  sm.clock = clock_;
  sm.metrics = &m_;
  Result<std::unique_ptr<StateMachine>> opened = StateMachine::open(sm);
  if (!opened.ok()) return opened.status();
  state_ = std::move(opened).value();
  measure_db_size();
  return Status::OK();
}

void Node::close_state_machine() {
  if (!state_) return;
  Status s = state_->close();
  if (!s.ok()) log(options_.logger, LogLevel::kError, "closing the store: " + s.to_string());
  state_.reset();
}

Status Node::install_snapshot(const raft::SnapshotMetadata& snapshot) {
  const std::string received = received_backend_dir(storage_->snap_dir(), snapshot.index);
  const int64_t revision_before = state_->kv().current_revision();
  // No store is received meanwhile (one for this index again would be written where this one is).
  std::lock_guard<std::mutex> receiving(receive_mu_);
  {
    std::unique_lock lock(state_mu_);
    failpoint::reach(failpoint::kRaftBeforeApplySnap);
    close_state_machine();
    Status s = install_backend(received, member_dir_ + "/db");
    failpoint::reach(failpoint::kRaftAfterApplySnap);
    if (s.ok()) s = open_state_machine();
    if (!s.ok()) return s.with_context("installing the leader's snapshot at index " + std::to_string(snapshot.index));
  }
  const uint64_t index = state_->kv().consistent_index();
  if (index < snapshot.index) {
    return Status::Corruption("the store received for the snapshot at index " + std::to_string(snapshot.index) +
                              " holds index " + std::to_string(index) + " only");
  }
  applied_ = std::max(applied_.load(), index);
  KEEL_RETURN_IF_ERROR(remove_received_backends(storage_->snap_dir(), snapshot.index));
  if (leader_.load() == member_id_) state_->lessor().promote(options_.election_timeout);
  // The watch hub learns the new store's revision; its watchers catch up on what they missed from
  // the new history (keel/watch_hub.h), or hear it was compacted.
  const int64_t revision = state_->kv().current_revision();
  if (hub_ && revision > revision_before) {
    hub_->compacted(state_->kv().compacted_revision());
    std::vector<Event> events;
    int64_t compacted_at = 0;
    const std::string all(1, '\0');
    Status read = state_->history().read_events(all, all, revision, revision, SIZE_MAX, true, &events, &compacted_at);
    if (!read.ok()) events.clear();
    hub_->publish(revision, std::move(events));
  }
  // The members may have changed in what the snapshot covers.
  follow_members();
  log(options_.logger, LogLevel::kInfo,
      "installed the leader's snapshot at index " + std::to_string(snapshot.index) + " (term " +
          std::to_string(snapshot.term) + "): store at revision " + std::to_string(revision) + ", applied index " +
          std::to_string(index));
  return Status::OK();
}

Status Node::receive_snapshot(uint64_t from, std::string_view metadata, ByteSource& data) {
  Result<raft::Message> m = decode_raft_frame(metadata);
  if (!m.ok()) return m.status().with_context("a snapshot's message");
  if (m->type != raft::MessageType::kSnap || m->from != from || m->to != member_id_ || m->snapshot.empty()) {
    return Status::InvalidArgument("a snapshot's message is not a snapshot from " + id_to_hex(from) + " to this member");
  }
  const uint64_t index = m->snapshot.metadata.index;
  {
    std::lock_guard<std::mutex> receiving(receive_mu_);
    if (index > applied_.load()) {
      log(options_.logger, LogLevel::kInfo,
          "receiving a snapshot at index " + std::to_string(index) + " from " + id_to_hex(from));
      KEEL_RETURN_IF_ERROR(receive_backend(*options_.backend, storage_->snap_dir(), index, data));
    }
  }
  // Raft decides whether to take it (it may be caught up meanwhile); the store waits for it.
  std::lock_guard<std::mutex> lock(raft_mu_);
  messages_in_.push_back(std::move(m).value());
  raft_cv_.notify_one();
  return Status::OK();
}

void Node::send_snapshot(raft::Message m) {
  const uint64_t to = m.to;
  log(options_.logger, LogLevel::kInfo,
      "member " + id_to_hex(to) + " needs a snapshot to catch up: sending the store (snapshot at index " +
          std::to_string(m.snapshot.metadata.index) + ")");
  std::lock_guard<std::mutex> lock(senders_mu_);
  snapshot_senders_.emplace_back([this, m = std::move(m)] {
    const uint64_t to = m.to;
    auto report = [this, to](bool ok) {
      std::lock_guard<std::mutex> lock(raft_mu_);
      snapshots_sent_.emplace_back(to, ok);
      raft_cv_.notify_one();
    };
    Result<std::unique_ptr<ByteSource>> copy =
        copy_to_file(storage_->snap_dir() + "/" + id_to_hex(to) + ".outgoing", [this](ByteSink& out) {
          std::shared_lock lock(state_mu_);
          KEEL_RETURN_IF_ERROR(state_->kv().force_commit());
          return write_store_stream(state_->backend(), out);
        });
    if (!copy.ok()) {
      log(options_.logger, LogLevel::kWarn, "copying the store for " + id_to_hex(to) + ": " + copy.status().to_string());
      return report(false);
    }
    peers_->send_snapshot(to, encode_raft_frame(m), std::move(copy).value(), [this, to, report](Status s) {
      if (!s.ok()) {
        log(options_.logger, LogLevel::kWarn, "sending a snapshot to " + id_to_hex(to) + ": " + s.to_string());
      } else {
        log(options_.logger, LogLevel::kInfo, "member " + id_to_hex(to) + " took the snapshot");
      }
      report(s.ok());
    });
  });
}

Node::~Node() { stop(); }

uint64_t Node::next_request_id() { return request_id_base_ + request_seq_.fetch_add(1) + 1; }

Result<Node::Proposal> Node::make_proposal(decltype(InternalRequest::body) body) {
  InternalRequest request;
  request.id = next_request_id();
  request.body = std::move(body);
  std::string data = encode_request(request);
  if (data.size() > options_.max_request_bytes) return ErrRequestTooLarge();
  if (committed_.load() > applied_.load() + kMaxApplyBacklog) return ErrTooManyRequests();
  return Proposal{request.id, std::move(data)};
}

void Node::propose(decltype(InternalRequest::body) body, WriteCallback done) {
  Status quota = check_quota(body);
  if (!quota.ok()) return done(quota);
  Result<Proposal> proposal = make_proposal(std::move(body));
  if (!proposal.ok()) return done(proposal.status());
  if (!has_leader()) return done(ErrNoLeader());
  const uint64_t id = proposal->id;
  writes_.add(id, std::move(done), std::chrono::steady_clock::now() + request_timeout_);
  m_.proposals_pending->inc();
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    if (!stopping_) {
      proposals_.push_back(std::move(proposal).value());
      raft_cv_.notify_one();
      return;
    }
  }
  fail_proposal(id, ErrStopped());
}

void Node::fail_proposal(uint64_t id, Status s) {
  m_.proposals_failed->inc();
  complete(id, std::move(s));
}

Status Node::check_quota(const decltype(InternalRequest::body)& body) {
  if (options_.quota_bytes <= 0 || !guarded_by_quota(body)) return Status::OK();
  // etcd's backendQuota.Available: the size now plus the request's estimated cost.
  if (db_size_.load() + quota_cost(body) < static_cast<uint64_t>(options_.quota_bytes)) return Status::OK();
  bool raised = false;
  {
    std::shared_lock lock(state_mu_);
    raised = state_->alarms().active(AlarmType::kNoSpace);
  }
  if (!raised) {
    log(options_.logger, LogLevel::kWarn,
        "the backend reached its quota of " + std::to_string(options_.quota_bytes) +
            " bytes: raising the NOSPACE alarm");
    propose(AlarmRequest{AlarmRequest::Action::kActivate, member_id_, AlarmType::kNoSpace},
            [](Result<WriteResult>) {});
  }
  return ErrNoSpace();
}

void Node::probe_sizes() {
  if (probing_.exchange(true)) return;
  read_pool_.post([this] {
    record_db_size();
    const WatchHubStats watches = hub_->stats();
    m_.watchers->set(static_cast<double>(watches.watchers));
    m_.slow_watchers->set(static_cast<double>(watches.slow_watchers));
    probing_ = false;
  });
}

void Node::record_db_size() {
  std::shared_lock lock(state_mu_);
  measure_db_size();
}

void Node::measure_db_size() {
  Result<BackendStats> stats = state_->backend().stats();
  if (!stats.ok()) return;
  db_size_ = stats->size_bytes;
  m_.db_size->set(static_cast<double>(stats->size_bytes));
  m_.db_size_in_use->set(static_cast<double>(stats->size_in_use_bytes));
}

Status Node::defragment() {
  const auto started = std::chrono::steady_clock::now();
  Status s;
  {
    std::shared_lock lock(state_mu_);
    s = state_->backend().defragment();
  }
  m_.defrag_duration->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // Read the new size now, so the quota sees the space freed before defragment() returns.
  record_db_size();
  return s;
}

Result<uint32_t> Node::hash() {
  std::shared_lock lock(state_mu_);
  KEEL_RETURN_IF_ERROR(state_->kv().force_commit());
  return backend_hash(state_->backend());
}

void Node::move_leader(uint64_t target, SteadyTime deadline, std::function<void(Status)> done) {
  if (leader_.load() != member_id_) return done(ErrNotLeader());
  std::vector<Member> members = this->members();
  const bool voter = std::any_of(members.begin(), members.end(),
                                 [target](const Member& m) { return m.id == target && !m.is_learner; });
  if (!voter) return done(ErrBadLeaderTransferee());
  if (target == member_id_) return done(Status::OK());
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    if (!stopping_) {
      moves_in_.push_back(LeaderMove{target, deadline, std::move(done)});
      raft_cv_.notify_one();
      return;
    }
  }
  done(ErrStopped());
}

void Node::read_barrier(ReadCallback done) {
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    if (!stopping_) {
      reads_waiting_.push_back(std::move(done));
      raft_cv_.notify_one();
      return;
    }
  }
  done(ErrStopped());
}

Result<uint64_t> Node::leader_to_ask() const {
  const uint64_t lead = leader_.load();
  if (lead == raft::kNone) return ErrNoLeader();
  if (lead == member_id_ || peers_ == nullptr) return raft::kNone;
  return lead;
}

void Node::renew_lease(int64_t id, std::function<void(Result<int64_t>)> done) {
  Result<uint64_t> leader = leader_to_ask();
  if (!leader.ok()) return done(leader.status());
  if (*leader == raft::kNone) {
    std::shared_lock lock(state_mu_);
    Result<int64_t> ttl = state_->lessor().renew(id);
    lock.unlock();
    return done(std::move(ttl));
  }
  ask_leader(*leader, PeerMethod::kLeaseRenew, encode_lease_renew(id), decode_renewed_ttl, std::move(done));
}

void Node::lease_time_to_live(int64_t id, bool keys,
                              std::function<void(Result<lease::LeaseTimeToLiveResponse>)> done) {
  Result<uint64_t> leader = leader_to_ask();
  if (!leader.ok()) return done(leader.status());
  if (*leader == raft::kNone) {
    // After a ReadIndex round, so a lease granted just before is known here.
    return read_barrier([this, id, keys, done = std::move(done)](Status ready) {
      if (!ready.ok()) return done(ready);
      std::shared_lock lock(state_mu_);
      lease::LeaseTimeToLiveResponse answer = state_->lessor().time_to_live(id, keys);
      lock.unlock();
      done(std::move(answer));
    });
  }
  ask_leader(*leader, PeerMethod::kLeaseTimeToLive, encode_lease_ttl_request(id, keys), decode_lease_ttl,
             std::move(done));
}

void Node::serve_call(uint64_t from, PeerMethod method, std::string body,
                      std::function<void(Result<std::string>)> reply) {
  // Only the leader's lessor knows when leases expire: a member that no longer leads says so
  // (the asker's lessor answers "not a primary" alike), and the asker's client retries.
  switch (method) {
    case PeerMethod::kLeaseRenew: {
      Result<int64_t> id = decode_lease_renew(body);
      if (!id.ok()) return reply(id.status());
      std::shared_lock lock(state_mu_);
      Result<int64_t> ttl = state_->lessor().renew(*id);
      lock.unlock();
      return reply(ttl.ok() ? Result<std::string>(encode_renewed_ttl(*ttl)) : Result<std::string>(ttl.status()));
    }
    case PeerMethod::kLeaseTimeToLive: {
      Result<std::pair<int64_t, bool>> req = decode_lease_ttl_request(body);
      if (!req.ok()) return reply(req.status());
      if (leader_.load() != member_id_) return reply(ErrNotLeader());
      const auto [id, keys] = *req;
      return read_barrier([this, id, keys, reply = std::move(reply)](Status ready) {
        if (!ready.ok()) return reply(ready);
        std::shared_lock lock(state_mu_);
        std::string answer = encode_lease_ttl(state_->lessor().time_to_live(id, keys));
        lock.unlock();
        reply(std::move(answer));
      });
    }
    case PeerMethod::kProbe:
      return reply(std::string());  // the peer network answers probes before they get here
    case PeerMethod::kPromoteMember:
    case PeerMethod::kRemoveMember: {
      Result<uint64_t> id = decode_member_request(body);
      if (!id.ok()) return reply(id.status());
      // A member that no longer leads says so rather than asking the leader in turn.
      if (leader_.load() != member_id_) return reply(ErrNotLeader());
      // A member hands over its own removal only (any other goes through Raft from where it is).
      if (method == PeerMethod::kRemoveMember && *id != from) {
        return reply(Status::InvalidArgument("a member may hand the leader its own removal only"));
      }
      MembershipChange change;
      change.kind = method == PeerMethod::kPromoteMember ? MembershipChange::Kind::kPromote
                                                         : MembershipChange::Kind::kRemove;
      change.member_id = *id;
      return change_members(std::move(change), [reply = std::move(reply)](Result<std::vector<Member>> r) {
        reply(r.ok() ? Result<std::string>(encode_members(*r)) : Result<std::string>(r.status()));
      });
    }
    case PeerMethod::kMembers: {
      std::shared_lock lock(state_mu_);
      std::string members = encode_members(state_->members().list());
      lock.unlock();
      return reply(std::move(members));
    }
  }
  log(options_.logger, LogLevel::kWarn, "peer " + id_to_hex(from) + " called an unknown method");
}

Result<mvcc::RangeResponse> Node::range(const mvcc::RangeRequest& request) const {
  m_.ranges->inc();
  std::shared_lock lock(state_mu_);
  return state_->kv().range(request);
}

Result<mvcc::TxnResponse> Node::read_txn(const mvcc::TxnRequest& request) const {
  m_.txns->inc();
  std::shared_lock lock(state_mu_);
  return state_->kv().read_txn(request);
}

Result<mvcc::HashKvResponse> Node::hash_kv(int64_t revision) const {
  std::shared_lock lock(state_mu_);
  return state_->kv().hash_kv(revision);
}

std::vector<AlarmMember> Node::alarms(AlarmType type) const {
  std::shared_lock lock(state_mu_);
  return state_->alarms().list(type);
}

std::vector<Member> Node::members() const {
  std::shared_lock lock(state_mu_);
  return state_->members().list();
}

std::vector<int64_t> Node::leases() const {
  std::shared_lock lock(state_mu_);
  return state_->lessor().leases();
}

Status Node::copy_backend(ByteSink& out) {
  const auto started = std::chrono::steady_clock::now();
  std::shared_lock lock(state_mu_);
  KEEL_RETURN_IF_ERROR(state_->kv().force_commit());
  Status s = state_->backend().copy_to(out);
  m_.snapshot_duration->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return s;
}

HeaderInfo Node::header() const {
  std::shared_lock lock(state_mu_);
  return HeaderInfo{cluster_id_, member_id_, state_->kv().current_revision(), term_.load()};
}

NodeStatus Node::status() const {
  NodeStatus s;
  s.member_id = member_id_;
  s.leader = leader_.load();
  s.raft_term = term_.load();
  s.raft_index = committed_.load();
  s.applied_index = applied_.load();
  std::shared_lock lock(state_mu_);
  Result<BackendStats> stats = state_->backend().stats();
  if (stats.ok()) {
    s.db_size = stats->size_bytes;
    s.db_size_in_use = stats->size_in_use_bytes;
  }
  std::optional<Member> self = state_->members().find(member_id_);
  s.is_learner = self && self->is_learner;
  return s;
}

// ---- the Raft thread ----

void Node::raft_loop() {
  const auto tick = options_.heartbeat_interval;
  SteadyTime next_tick = std::chrono::steady_clock::now() + tick;
  for (;;) {
    std::deque<Proposal> proposals;
    std::vector<ReadCallback> reads;
    std::vector<uint64_t> snapshots;
    std::vector<raft::Message> messages;
    std::vector<uint64_t> unreachable;
    std::vector<std::pair<uint64_t, bool>> sent;
    std::vector<LeaderMove> moves;
    {
      std::unique_lock<std::mutex> lock(raft_mu_);
      if (!driver_->raft().has_ready()) {
        raft_cv_.wait_until(lock, next_tick, [this] {
          return stopping_ || !proposals_.empty() || !reads_waiting_.empty() || !snapshots_due_.empty() ||
                 !messages_in_.empty() || !moves_in_.empty() || !conf_changes_in_.empty();
        });
      }
      if (stopping_) return;
      proposals.swap(proposals_);
      reads.swap(reads_waiting_);
      snapshots.swap(snapshots_due_);
      messages.swap(messages_in_);
      unreachable.swap(unreachable_in_);
      sent.swap(snapshots_sent_);
      moves.swap(moves_in_);
      for (ConfProposal& p : conf_changes_in_) conf_changes_.push_back(std::move(p));
      conf_changes_in_.clear();
    }
    for (const auto& [peer, ok] : sent) {
      driver_->raft().report_snapshot(peer, ok ? raft::SnapshotStatus::kFinish : raft::SnapshotStatus::kFailure);
    }
    for (uint64_t index : snapshots) {
      Status s = driver_->snapshot_at(index);
      if (!s.ok()) fail(s);
    }
    if (failed_.load()) return;
    for (uint64_t peer : unreachable) driver_->raft().report_unreachable(peer);
    for (const raft::Message& m : messages) {
      Status s = driver_->raft().step(m);
      if (!s.ok()) {
        log(options_.logger, LogLevel::kDebug, "a Raft message from " + id_to_hex(m.from) + " was not taken: " + s.to_string());
      }
    }
    note_leader();
    for (LeaderMove& move : moves) {
      log(options_.logger, LogLevel::kInfo, "leadership transfer to " + id_to_hex(move.target) + " starting");
      driver_->raft().transfer_leader(move.target);
      moves_.push_back(std::move(move));
    }
    std::vector<uint64_t> handed;
    for (Proposal& p : proposals) {
      Status s = driver_->raft().propose(std::move(p.data));
      if (s.ok()) {
        handed.push_back(p.id);
      } else {
        fail_proposal(p.id, proposal_error(s));
      }
    }
    if (!handed.empty()) writes_.handed(handed, leader_epoch_);
    propose_conf_changes();
    if (!reads.empty()) {
      // One ReadIndex round for every read that arrived since the last one. The context carries
      // the member's request-id base (time at start), so an answer meant for a round before a
      // restart never releases a round after it.
      std::string ctx = std::to_string(request_id_base_) + "/" + std::to_string(++read_seq_);
      Status s = driver_->raft().read_index(ctx);
      if (s.ok()) {
        read_rounds_.start(ctx, std::move(reads), std::chrono::steady_clock::now() + request_timeout_);
      } else {
        m_.read_indexes_failed->inc();
        serve_reads(std::move(reads), raft::IsNoLeader(s) ? ErrNoLeader() : s);
      }
    }
    const SteadyTime now = std::chrono::steady_clock::now();
    if (now >= next_tick) {
      driver_->raft().tick();
      next_tick += tick;
      if (next_tick <= now) next_tick = now + tick;
      note_leader();
      settle_leader_moves(now);
      expire_waiters(now);
      if (peers_) {
        peers_->expire_calls(now, ErrTimeout());
        peers_->probe(now);
        peers_->retire_departed(now);
      }
      note_removal();
      ask_if_removed();
      publish_attributes();
      propose_lease_upkeep();
      propose_auto_compaction();
      probe_sizes();
    }
    if (driver_->raft().has_ready()) handle_ready();
    if (failed_.load()) return;
  }
}

void Node::handle_ready() {
  Status s = driver_->handle_ready(*raft_events_);
  if (!s.ok()) fail(s);
}

void Node::send_messages(std::vector<raft::Message>& messages) {
  if (messages.empty()) return;
  if (peers_ == nullptr) {
    log(options_.logger, LogLevel::kDebug,
        std::to_string(messages.size()) + " Raft messages dropped: a member alone has no transport");
    return;
  }
  auto snapshots = std::partition(messages.begin(), messages.end(),
                                  [](const raft::Message& m) { return m.type != raft::MessageType::kSnap; });
  for (auto it = snapshots; it != messages.end(); ++it) send_snapshot(std::move(*it));
  messages.erase(snapshots, messages.end());
  peers_->send(messages);
}

void Node::publish_attributes() {
  if (publish_state_.load() != 0 || !has_leader()) return;
  publish_state_ = 1;
  propose(MemberAttributesRequest{member_id_, options_.name, options_.client_urls},
          [this](Result<WriteResult> r) {
            publish_state_ = r.ok() ? 2 : 0;  // etcd's publish retries until it is applied
            if (r.ok()) {
              log(options_.logger, LogLevel::kInfo,
                  "published member " + id_to_hex(member_id_) + " (" + options_.name + ") to the cluster");
            }
          });
}

void Node::note_leader() {
  const uint64_t lead = driver_->lead();
  if (lead == epoch_lead_) return;
  epoch_lead_ = lead;
  ++leader_epoch_;
  // The leader that was asked for these rounds' read index may never answer now (etcd 3.4 fails
  // them with "leader changed" rather than letting them time out); the same holds for the
  // proposals it was handed.
  fail_read_rounds(ErrLeaderChanged());
  std::vector<WriteCallback> stranded = writes_.take_stranded(leader_epoch_);
  if (!stranded.empty()) {
    log(options_.logger, LogLevel::kInfo,
        "leader changed: " + std::to_string(stranded.size()) + " proposals it may have lost fail");
    fail_writes(std::move(stranded), ErrLeaderChanged());
  }
  settle_leader_moves(std::chrono::steady_clock::now());
}

void Node::settle_leader_moves(SteadyTime now) {
  const uint64_t lead = driver_->lead();
  for (auto it = moves_.begin(); it != moves_.end();) {
    // Done once the member's published leader (leader_, from the Ready's soft state) names the
    // target too, not only Raft: what the caller does next (a self-removal asks the leader)
    // reads leader_, which lags Raft's until that Ready is handled.
    if (lead == it->target && leader_.load() == it->target) {
      log(options_.logger, LogLevel::kInfo, "leadership transferred to " + id_to_hex(it->target));
      read_pool_.post([done = std::move(it->done)] { done(Status::OK()); });
    } else if (it->deadline <= now) {
      log(options_.logger, LogLevel::kWarn, "leadership transfer to " + id_to_hex(it->target) + " failed: too long");
      read_pool_.post([done = std::move(it->done)] { done(ErrTimeoutLeaderTransfer()); });
    } else {
      ++it;
      continue;
    }
    it = moves_.erase(it);
  }
}

void Node::fail_writes(std::vector<WriteCallback> writes, const Status& s) {
  for (auto& done : writes) {
    m_.proposals_pending->dec();
    m_.proposals_failed->inc();
    done(s);
  }
}

void Node::fail_read_rounds(Status s) {
  size_t rounds = 0;
  std::vector<ReadCallback> reads = read_rounds_.take_unanswered(&rounds);
  m_.read_indexes_failed->inc(static_cast<double>(rounds));
  serve_reads(std::move(reads), s);
}

void Node::serve_reads(std::vector<ReadCallback> reads, const Status& s) {
  for (auto& r : reads) read_pool_.post([r = std::move(r), s] { r(s); });
}

void Node::propose_internal(decltype(InternalRequest::body) body) {
  // Nobody waits for it: complete() finds no one for its id.
  Result<Proposal> proposal = make_proposal(std::move(body));
  Status s = proposal.ok() ? driver_->raft().propose(std::move(proposal->data)) : proposal.status();
  if (!s.ok()) {
    log(options_.logger, LogLevel::kDebug, "lease upkeep proposal refused: " + s.to_string());
  }
}

void Node::propose_lease_upkeep() {
  std::shared_lock state(state_mu_);
  if (!state_->lessor().is_primary()) return;
  // etcd's leaseRevokeRate (1000 a second), spread over the ticks.
  constexpr int64_t kRevokesPerSecond = 1000;
  const int64_t per_tick = std::max<int64_t>(
      1, kRevokesPerSecond * options_.heartbeat_interval.count() / 1000);
  // An expired lease is reported again only after the lessor's retry interval, so a revoke in
  // flight is not proposed twice in a row.
  for (int64_t id : state_->lessor().expired_leases(static_cast<size_t>(per_tick))) {
    m_.leases_expired->inc();
    propose_internal(LeaseRevokeRequest{id});
  }
  std::vector<lease::LeaseCheckpoint> due = state_->lessor().checkpoints_due();
  // Bounded so that one entry stays well below max-request-bytes.
  constexpr size_t kCheckpointsPerEntry = 1000;
  for (size_t i = 0; i < due.size(); i += kCheckpointsPerEntry) {
    LeaseCheckpointRequest cp;
    cp.checkpoints.assign(due.begin() + static_cast<std::ptrdiff_t>(i),
                          due.begin() + static_cast<std::ptrdiff_t>(std::min(due.size(), i + kCheckpointsPerEntry)));
    propose_internal(std::move(cp));
  }
}

void Node::propose_auto_compaction() {
  if (!auto_compactor_.enabled() || leader_.load() != member_id_) return;
  std::shared_lock state(state_mu_);
  const int64_t revision = auto_compactor_.poll(std::chrono::steady_clock::now(), state_->kv().current_revision(),
                                                state_->kv().compacted_revision());
  state.unlock();
  if (revision == 0) return;
  log(options_.logger, LogLevel::kInfo, "auto-compaction: compacting to revision " + std::to_string(revision));
  propose_internal(CompactionRequest{revision, false});
}

void Node::expire_waiters(SteadyTime now) {
  fail_writes(writes_.take_expired(now), ErrTimeout());
  // Rounds Raft never answered (leadership moved before the read was confirmed).
  size_t rounds = 0;
  std::vector<ReadCallback> expired = read_rounds_.take_expired(now, &rounds);
  m_.slow_read_indexes->inc(static_cast<double>(rounds));
  serve_reads(std::move(expired), ErrTimeout());
}

// ---- the apply thread ----

void Node::apply_loop() {
  for (;;) {
    ApplyBatch next;
    {
      std::unique_lock<std::mutex> lock(apply_mu_);
      apply_cv_.wait(lock, [this] { return apply_stopping_ || !to_apply_.empty(); });
      if (to_apply_.empty()) return;
      next = std::move(to_apply_.front());
      to_apply_.pop_front();
    }
    if (!next.snapshot.empty() && next.snapshot.metadata.index > applied_.load()) {
      // What was applied before it is answered first.
      send_answers();
      Status s = install_snapshot(next.snapshot.metadata);
      if (!s.ok()) {
        // The old store is closed and the new one is not open: nothing can answer a read now.
        // etcd panics here too; the next start installs the received store again.
        log(options_.logger, LogLevel::kError, "cannot go on: " + s.to_string());
        std::abort();
      }
      snapshot_requested_ = next.snapshot.metadata.index;
    }
    for (const raft::Entry& e : next.entries) {
      if (e.index <= applied_.load()) continue;  // replayed: the store already holds it
      const auto started = std::chrono::steady_clock::now();
      apply_entry(e);
      // etcd's warnApplyDuration.
      if (std::chrono::steady_clock::now() - started > std::chrono::milliseconds(100)) m_.slow_applies->inc();
      if (failed_.load()) break;
      applied_ = e.index;
    }
    // What was applied is answered, even when the member stops on the entry after it.
    send_answers();
    if (failed_.load()) return;
    serve_reads(read_rounds_.reached(applied_.load()), Status::OK());
    m_.proposals_applied->set(static_cast<double>(applied_.load()));
    if (options_.snapshot_count > 0 && applied_.load() - snapshot_requested_ >= options_.snapshot_count) {
      request_snapshot(applied_.load());
      if (failed_.load()) return;
    }
  }
}

void Node::request_snapshot(uint64_t index) {
  // The snapshot lets the WAL forget entries up to `index`: they must be in the Backend first.
  Status s = state_->kv().force_commit();
  if (!s.ok()) {
    fail(s.with_context("backend commit before a snapshot"));
    return;
  }
  snapshot_requested_ = index;
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    snapshots_due_.push_back(index);
  }
  raft_cv_.notify_one();
}

WriteCallback Node::take_waiter(uint64_t id) {
  WriteCallback done = writes_.take(id);
  if (done) m_.proposals_pending->dec();
  return done;
}

void Node::complete(uint64_t id, Result<WriteResult> result) {
  if (WriteCallback done = take_waiter(id)) done(std::move(result));
}

void Node::answer(uint64_t id, Result<WriteResult> result) {
  if (WriteCallback done = take_waiter(id)) answers_.emplace_back(std::move(done), std::move(result));
}

void Node::send_answers() {
  if (answers_.empty()) return;
  if (answers_.size() == 1) {
    // A lone answer goes at once: handing it over would only add a thread's wake-up to it.
    auto [done, result] = std::move(answers_.front());
    answers_.clear();
    done(std::move(result));
    return;
  }
  // gRPC writes each answer inline, down to the socket: off the apply thread, applying the next
  // batch goes on meanwhile.
  read_pool_.post([answers = std::move(answers_)]() mutable {
    for (auto& [done, result] : answers) done(std::move(result));
  });
  answers_.clear();
}

void Node::apply_entry(const raft::Entry& e) {
  Result<AppliedEntry> applied = state_->apply(e, *hub_);
  if (!applied.ok()) {
    fail(applied.status());
    return;
  }
  if (applied->members_changed) follow_members();
  if (applied->request_id == 0) return;
  if (applied->after_purge) {
    // etcd's physical compaction answers once the purge is done, without holding up applying.
    read_pool_.post([this, id = applied->request_id, result = std::move(applied->result)]() mutable {
      std::shared_lock lock(state_mu_);
      Status purged = state_->kv().wait_compaction();
      lock.unlock();
      complete(id, purged.ok() ? std::move(result) : Result<WriteResult>(purged));
    });
    return;
  }
  answer(applied->request_id, std::move(applied->result));
}

// ---- stopping ----

void Node::fail(Status s) {
  log(options_.logger, LogLevel::kError, "member stops: " + s.to_string());
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (failure_.ok()) failure_ = s;
    failed_ = true;
    stopped_cv_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    stopping_ = true;
  }
  raft_cv_.notify_all();
}

void Node::stop() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (stop_called_) return;
    stop_called_ = true;
  }
  {
    std::lock_guard<std::mutex> lock(raft_mu_);
    stopping_ = true;
  }
  raft_cv_.notify_all();
  if (raft_thread_.joinable()) raft_thread_.join();
  {
    std::lock_guard<std::mutex> lock(apply_mu_);
    apply_stopping_ = true;
  }
  apply_cv_.notify_all();
  if (apply_thread_.joinable()) apply_thread_.join();
  {
    // Copies being made for peers; what the transport streams is canceled by its stop().
    std::lock_guard<std::mutex> lock(senders_mu_);
    for (std::thread& t : snapshot_senders_) t.join();
    snapshot_senders_.clear();
  }
  read_pool_.stop();

  fail_writes(writes_.take_all(), ErrStopped());
  for (auto& move : moves_) move.done(ErrStopped());
  moves_.clear();
  for (auto& move : moves_in_) move.done(ErrStopped());
  moves_in_.clear();
  for (auto& r : reads_waiting_) r(ErrStopped());
  reads_waiting_.clear();
  for (auto& r : read_rounds_.take_all()) r(ErrStopped());

  if (peers_) peers_->stop(ErrStopped());  // before what its callbacks touch goes away
  driver_.reset();
  raft_events_.reset();
  peers_.reset();
  hub_.reset();
  current_history_.reset();
  close_state_machine();
  storage_.reset();
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopped_ = true;
  }
  stopped_cv_.notify_all();
}

Status Node::failure() const {
  std::lock_guard<std::mutex> lock(stop_mu_);
  return failure_;
}

}  // namespace keel::server
