// Raft: the consensus state machine of one member (the Raft dissertation, chapters 3, 4 and 6,
// in the shape of etcd's raft library). It does no I/O, keeps no clock, starts no thread and has
// no randomness of its own: time is tick(), input is step(), and output is the messages and
// state changes RawNode collects into a Ready. Most code should use RawNode (raw_node.h); this
// class is public so that tests can look inside.
//
// Roles are states of one object: become_follower/pre_candidate/candidate/leader switch what
// step() and tick() do. Impossible transitions abort.
//
// Thread safety: none — single-threaded by contract.
#ifndef KEEL_RAFT_RAFT_CORE_H_
#define KEEL_RAFT_RAFT_CORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "keel/status.h"
#include "raft/log.h"
#include "raft/messages.h"
#include "raft/random.h"
#include "raft/read_only.h"
#include "raft/storage.h"
#include "raft/tracker.h"

namespace keel::raft {

struct Config {
  NodeId id = kNone;  // REQUIRED, != kNone
  // A follower that hears nothing from a leader for a randomized timeout in
  // [election_tick, 2*election_tick) ticks campaigns. REQUIRED: > heartbeat_tick.
  int election_tick = 10;
  int heartbeat_tick = 1;  // a leader sends heartbeats every heartbeat_tick ticks
  // REQUIRED, borrowed: must outlive the node. Holds what the driver persisted.
  const Storage* storage = nullptr;
  // REQUIRED, borrowed: must outlive the node. Draws the randomized election timeouts.
  RandomSource* random = nullptr;
  // The last index the application's state reflects (on restart: usually the index of the
  // snapshot it restored). Committed entries after it are handed out again. 0 = the storage's
  // first_index()-1, which is only right when the log was compacted exactly to the snapshot.
  uint64_t applied = 0;
  // Byte caps (sum of EntrySize): per append message, per Ready's committed entries, and in
  // flight to one follower (0 = none). A message carries at least one entry regardless.
  uint64_t max_size_per_msg = 1 << 20;
  uint64_t max_committed_size_per_ready = UINT64_MAX;
  uint64_t max_inflight_bytes = 0;
  // A leader refuses proposals (ErrProposalDropped()) while the entries it appended but has
  // not yet seen applied hold more than this many bytes of data (0 = no limit). Keeps a leader
  // that cannot commit from growing its log without bound. One proposal always fits.
  uint64_t max_uncommitted_entries_size = 0;
  // Append messages in flight to one follower in replicate mode. REQUIRED: > 0.
  size_t max_inflight_msgs = 256;
  // §6.2: a leader that has not heard from a quorum within an election timeout steps down, and
  // a member that heard from a leader within the minimum election timeout ignores votes.
  bool check_quorum = true;
  // §9.6: a candidate first asks whether it could win, without raising terms.
  bool pre_vote = true;
  // Followers drop proposals instead of forwarding them to the leader.
  bool disable_proposal_forwarding = false;

  Status validate() const;
};

// The context of a vote request that a leader transfer forces (ignores leader leases).
inline constexpr const char* kCampaignTransfer = "CampaignTransfer";

enum class CampaignType : uint8_t { kPreElection, kElection, kTransfer };

class Raft {
 public:
  static Result<std::unique_ptr<Raft>> Create(const Config& config);
  Raft(const Raft&) = delete;
  Raft& operator=(const Raft&) = delete;

  // Advances logical time by one tick.
  void tick();
  // Feeds a message (from the network, or a local one built by RawNode). Errors: ErrNoLeader(),
  // ErrTransferInProgress(), ErrConfChangePending(), ErrProposalDropped() for kProp;
  // ErrNoLeader() for a kReadIndex with no leader to forward to.
  Status step(Message m);

  // The driver persisted the log up to (index, term): the leader counts itself for that entry.
  void on_persisted(uint64_t index, uint64_t term);
  // The driver applied committed entries holding `bytes` of data: they no longer count toward
  // max_uncommitted_entries_size.
  void reduce_uncommitted_size(uint64_t bytes) {
    uncommitted_size_ = bytes >= uncommitted_size_ ? 0 : uncommitted_size_ - bytes;
  }
  uint64_t uncommitted_size() const { return uncommitted_size_; }
  // Applies a committed configuration change. Errors: InvalidArgument (would remove every
  // voter); the configuration is then unchanged.
  Result<ConfState> apply_conf_change(const ConfChange& cc);
  // Replaces the membership with `cs` (a snapshot's, or on start).
  void apply_conf_state(const ConfState& cs);

  // Messages to send, in order; the queue is emptied. Sends the appends of proposals made since
  // the last call (one per follower for all of them) and starts the heartbeat round that pending
  // ReadIndex requests share, if one is due.
  std::vector<Message> take_messages();
  bool has_messages() const { return !msgs_.empty() || read_heartbeat_due_ || append_due_; }
  std::vector<ReadState> take_read_states();
  const std::vector<ReadState>& read_states() const { return read_states_; }

  HardState hard_state() const { return HardState{term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return SoftState{lead_, role_}; }

  NodeId id() const { return id_; }
  uint64_t term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId lead() const { return lead_; }
  Role role() const { return role_; }
  NodeId lead_transferee() const { return lead_transferee_; }
  uint64_t pending_conf_index() const { return pending_conf_index_; }
  bool is_learner() const { return is_learner_; }
  bool promotable() const;
  int election_elapsed() const { return election_elapsed_; }
  int randomized_election_timeout() const { return randomized_election_timeout_; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  ProgressTracker& tracker() { return tracker_; }
  const ProgressTracker& tracker() const { return tracker_; }
  const ReadOnly& read_only() const { return read_only_; }

  // Role transitions; public for tests. REQUIRES as in the dissertation (a follower cannot
  // become leader directly, a leader cannot become a candidate): violations abort.
  void become_follower(uint64_t term, NodeId lead);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  // Sets the randomized timeout (tests pin it to make elections predictable).
  void set_randomized_election_timeout(int t) { randomized_election_timeout_ = t; }

 private:
  explicit Raft(const Config& c);

  void send(Message m);
  void reset(uint64_t term);
  void reset_randomized_election_timeout();
  bool past_election_timeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  void tick_election();
  void tick_heartbeat();

  void hup(CampaignType t);
  void campaign(CampaignType t);
  VoteResult poll(NodeId id, bool granted);
  bool has_unapplied_conf_changes() const;

  Status step_leader(Message& m);
  Status step_candidate(Message& m);
  Status step_follower(Message& m);

  void handle_append_entries(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& snap);

  void append_entries(std::vector<Entry> es);
  bool maybe_commit();
  bool committed_entry_in_current_term() const;
  void send_append(NodeId to) { maybe_send_append(to, true); }
  bool maybe_send_append(NodeId to, bool send_if_empty);
  void bcast_append();
  void send_heartbeat(NodeId to, const std::string& ctx);
  void bcast_heartbeat(const std::string& ctx);
  void send_timeout_now(NodeId to);
  void abort_leader_transfer() { lead_transferee_ = kNone; }

  void read_index_on_leader(const Message& m);
  void respond_to_read(uint64_t index, const Message& req);
  void release_pending_read_index_messages();

  void switch_to_config(const TrackerConfig& cfg);

  NodeId id_;
  uint64_t term_ = 0;
  NodeId vote_ = kNone;
  NodeId lead_ = kNone;
  Role role_ = Role::kFollower;
  bool is_learner_ = false;

  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  std::vector<Message> pending_read_index_messages_;  // until an entry of this term commits
  bool read_heartbeat_due_ = false;
  bool append_due_ = false;  // proposals appended but not yet sent to followers
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;

  NodeId lead_transferee_ = kNone;
  // A leader accepts a new configuration change only once the last one (at this index) applied.
  uint64_t pending_conf_index_ = 0;

  int election_elapsed_ = 0;   // ticks since the last election timeout (or leader contact)
  int heartbeat_elapsed_ = 0;  // leader: ticks since the last heartbeat
  int election_timeout_;
  int heartbeat_timeout_;
  int randomized_election_timeout_ = 0;
  bool check_quorum_;
  bool pre_vote_;
  bool disable_proposal_forwarding_;
  uint64_t max_msg_size_;
  uint64_t max_uncommitted_size_;
  uint64_t uncommitted_size_ = 0;  // leader: data bytes appended and not yet applied
  RandomSource* random_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RAFT_CORE_H_
