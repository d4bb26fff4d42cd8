#include "server/raft_driver.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "failpoint/failpoint.h"
#include "raft/codec.h"
#include "wal/file_system.h"
#include "wal/snapshot_file.h"

namespace keel::server {
namespace {

// A snapshot file's data: none, the Backend holds the state machine.
class NoData : public ByteSource {
 public:
  Result<size_t> read(char*, size_t) override { return size_t{0}; }
};

}  // namespace

Result<std::unique_ptr<RaftDriver>> RaftDriver::open(wal::WalStorage& storage, raft::Config config,
                                                     RaftDriverOptions options) {
  std::unique_ptr<RaftDriver> driver(new RaftDriver(storage, std::move(options)));
  Result<raft::Snapshot> snap = storage.snapshot();
  if (!snap.ok()) return snap.status();
  driver->rebase(snap->metadata.index, snap->metadata.conf_state);
  config.storage = &storage;
  Result<std::unique_ptr<raft::RawNode>> raw = raft::RawNode::Create(config);
  if (!raw.ok()) return raw.status();
  driver->raft_ = std::move(raw).value();
  // Raft starts from the snapshot's membership and hands out only what comes after `applied`:
  // the changes in between were applied before the restart, and are applied again here.
  if (config.applied > snap->metadata.index) {
    Result<std::vector<raft::Entry>> applied =
        storage.entries(snap->metadata.index + 1, config.applied + 1, UINT64_MAX);
    if (!applied.ok()) return applied.status().with_context("reading the applied entries");
    for (const raft::Entry& e : *applied) {
      if (e.type != raft::EntryType::kConfChange) continue;
      raft::ConfChange change;
      Result<raft::ConfState> membership = driver->apply_conf_change(e, &change);
      if (!membership.ok()) return membership.status();
    }
  }
  return driver;
}

const raft::ConfState& RaftDriver::conf_state_at(uint64_t index) const {
  auto after = conf_history_.upper_bound(index);
  if (after == conf_history_.begin()) return base_conf_state_;
  return std::prev(after)->second;
}

void RaftDriver::rebase(uint64_t index, const raft::ConfState& membership) {
  base_conf_state_ = membership;
  conf_history_.erase(conf_history_.begin(), conf_history_.upper_bound(index));
  if (conf_history_.empty()) conf_state_ = membership;
}

Result<raft::ConfState> RaftDriver::apply_conf_change(const raft::Entry& e, raft::ConfChange* change) {
  Result<raft::ConfChange> decoded = raft::DecodeConfChange(e.data);
  if (!decoded.ok()) {
    return Status::Corruption("the configuration change at index " + std::to_string(e.index) +
                              " does not decode: " + decoded.status().to_string());
  }
  *change = std::move(decoded).value();
  Result<raft::ConfState> membership = raft_->apply_conf_change(*change);
  if (!membership.ok()) {
    // Every member refuses the same change the same way: applied as none, it leaves the
    // membership as it was and ends the pending change.
    log(options_.logger, LogLevel::kWarn, "the configuration change at index " + std::to_string(e.index) +
                                              " was refused: " + membership.status().to_string());
    change->node_id = raft::kNone;
    membership = raft_->apply_conf_change(*change);
    if (!membership.ok()) return membership.status();
  }
  conf_history_[e.index] = *membership;
  conf_state_ = *membership;
  return membership;
}

Status RaftDriver::handle_ready(RaftOutput& out) {
  if (!raft_->has_ready()) return Status::OK();
  raft::Ready rd = raft_->ready();
  if (rd.soft_state) out.on_soft_state(*rd.soft_state);
  if (!rd.snapshot.empty()) {
    failpoint::reach(failpoint::kRaftBeforeSaveSnap);
    NoData no_data;
    Result<std::string> file = wal::write_snapshot_file(wal::posix_file_system(), storage_.snap_dir(),
                                                        rd.snapshot.metadata, options_.backend_name, no_data);
    Status s = file.ok() ? storage_.save_snapshot(rd.snapshot) : file.status();
    if (!s.ok()) return s.with_context("saving the leader's snapshot");
    failpoint::reach(failpoint::kRaftAfterSaveSnap);
    conf_history_.clear();
    rebase(rd.snapshot.metadata.index, rd.snapshot.metadata.conf_state);
    out.apply_snapshot(std::move(rd.snapshot));
  }
  // What a leader may send before its own write (raw_node.h's rule, the one tests/sim checks):
  // appends, heartbeats, snapshots and TimeoutNow, when the Ready keeps its term and vote.
  std::vector<raft::Message> after_write;
  if (rd.leader_may_send_early) {
    auto late = std::stable_partition(rd.messages.begin(), rd.messages.end(),
                                      [](const raft::Message& m) { return raft::IsEarlySendable(m.type); });
    after_write.assign(std::make_move_iterator(late), std::make_move_iterator(rd.messages.end()));
    rd.messages.erase(late, rd.messages.end());
    out.send(rd.messages);
  } else {
    after_write = std::move(rd.messages);
  }
  failpoint::reach(failpoint::kRaftBeforeSave);
  const auto persist_started = std::chrono::steady_clock::now();
  Status s = storage_.persist(rd.hard_state.value_or(raft::HardState{}), rd.entries, rd.must_sync);
  if (!s.ok()) return s.with_context("WAL");
  failpoint::reach(failpoint::kRaftAfterSave);
  if (rd.must_sync && !options_.unsafe_no_fsync && options_.wal_fsync != nullptr) {
    // The write and its fdatasync: keel's WAL writes and syncs in one call.
    options_.wal_fsync->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - persist_started).count());
  }
  if (rd.hard_state) out.on_hard_state(*rd.hard_state);
  out.send(after_write);
  if (!rd.read_states.empty()) out.on_read_states(rd.read_states);
  for (const raft::Entry& e : rd.committed_entries) {
    if (e.type != raft::EntryType::kConfChange) continue;
    raft::ConfChange change;
    Result<raft::ConfState> membership = apply_conf_change(e, &change);
    if (!membership.ok()) return membership.status();
    out.on_conf_change(e.index, change, *membership);
  }
  if (!rd.committed_entries.empty()) out.apply_entries(std::move(rd.committed_entries));
  raft_->advance();
  return Status::OK();
}

Status RaftDriver::snapshot_at(uint64_t index) {
  Result<uint64_t> term = storage_.term(index);
  if (!term.ok()) {
    // Already behind a newer snapshot (Raft compacted it): nothing to do.
    log(options_.logger, LogLevel::kDebug,
        "snapshot at " + std::to_string(index) + " skipped: " + term.status().to_string());
    return Status::OK();
  }
  raft::SnapshotMetadata metadata;
  metadata.index = index;
  metadata.term = *term;
  metadata.conf_state = conf_state_at(index);
  NoData no_data;
  Result<std::string> file = wal::write_snapshot_file(wal::posix_file_system(), storage_.snap_dir(), metadata,
                                                      options_.backend_name, no_data);
  Status s = file.status();
  if (s.ok()) s = storage_.record_local_snapshot(metadata, "");
  const uint64_t keep = options_.snapshot_catchup_entries;
  if (s.ok()) s = storage_.compact(index > keep ? index - keep : 0, options_.max_wals, options_.max_snapshots);
  if (!s.ok()) return s.with_context("snapshot at index " + std::to_string(index));
  rebase(index, metadata.conf_state);
  log(options_.logger, LogLevel::kInfo, "snapshot at index " + std::to_string(index) + " (term " +
                                            std::to_string(*term) + "); WAL purged up to it");
  return Status::OK();
}

}  // namespace keel::server
