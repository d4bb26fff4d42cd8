#include "wal/wal_storage.h"

namespace keel::wal {

namespace {

std::string wal_dir_of(const std::string& dir, const WalOptions& options) {
  return options.wal_dir.empty() ? dir + "/wal" : options.wal_dir;
}

}  // namespace

Result<bool> WalStorage::exists(FileSystem& fs, const std::string& dir, const WalOptions& options) {
  return Wal::exists(fs, wal_dir_of(dir, options));
}

Result<std::unique_ptr<WalStorage>> WalStorage::open(FileSystem& fs, const std::string& dir,
                                                     const WalMetadata& metadata, const WalOptions& options) {
  std::unique_ptr<WalStorage> s(new WalStorage);
  s->fs_ = &fs;
  s->wal_dir_ = wal_dir_of(dir, options);
  s->snap_dir_ = dir + "/snap";
  KEEL_RETURN_IF_ERROR(fs.create_dirs(s->snap_dir_));

  Result<bool> found = Wal::exists(fs, s->wal_dir_);
  if (!found.ok()) return found.status();
  if (!*found) {
    Result<std::unique_ptr<Wal>> wal = Wal::create(fs, s->wal_dir_, metadata, options);
    if (!wal.ok()) return wal.status();
    s->wal_ = std::move(wal).value();
    s->metadata_ = metadata;
    s->created_ = true;
    return s;
  }

  WalContents contents;
  Result<std::unique_ptr<Wal>> wal = Wal::open(fs, s->wal_dir_, options, &contents);
  if (!wal.ok()) return wal.status();
  s->wal_ = std::move(wal).value();
  s->metadata_ = contents.metadata;
  s->torn_tail_cut_ = contents.torn_tail_cut;
  auto mismatch = [&](const char* what, uint64_t want, uint64_t have) {
    return Status::FailedPrecondition("the data in " + dir + " belongs to " + what + " " + std::to_string(have) +
                                      ", not " + std::to_string(want));
  };
  if (metadata.member_id != 0 && metadata.member_id != contents.metadata.member_id) {
    return mismatch("member", metadata.member_id, contents.metadata.member_id);
  }
  if (metadata.cluster_id != 0 && metadata.cluster_id != contents.metadata.cluster_id) {
    return mismatch("cluster", metadata.cluster_id, contents.metadata.cluster_id);
  }

  if (contents.snapshot.index > 0) {
    // The snapshot the WAL's newest marker names; a newer file whose marker never reached the WAL
    // (a crash in between) is passed over.
    Result<std::optional<SnapshotFileInfo>> snap =
        newest_valid_snapshot(fs, s->snap_dir_, options.logger, contents.snapshot.index);
    if (!snap.ok()) return snap.status();
    if (!snap->has_value() || (*snap)->metadata.index != contents.snapshot.index ||
        (*snap)->metadata.term != contents.snapshot.term) {
      return Status::Corruption("the WAL in " + s->wal_dir_ + " continues from a snapshot at index " +
                                std::to_string(contents.snapshot.index) + " (term " +
                                std::to_string(contents.snapshot.term) + "), but " + s->snap_dir_ +
                                " holds no valid snapshot file for it");
    }
    // Files above the marker were written by a member that crashed before marking them: nothing
    // refers to them.
    KEEL_RETURN_IF_ERROR(remove_snapshot_files_above(fs, s->snap_dir_, contents.snapshot.index));
    raft::Snapshot snapshot;
    snapshot.metadata = (*snap)->metadata;
    KEEL_RETURN_IF_ERROR(s->memory_.apply_snapshot(snapshot));
    s->recovered_snapshot_ = std::move(snap).value();
    s->snapshot_from_leader_ = contents.snapshot.replaces_log;
  }
  s->memory_.set_hard_state(contents.hard_state);
  KEEL_RETURN_IF_ERROR(s->memory_.append(contents.entries));
  return s;
}

namespace {

class EmptySource : public ByteSource {
 public:
  Result<size_t> read(char*, size_t) override { return size_t{0}; }
};

}  // namespace

bool WalStorage::needs_bootstrap() const {
  Result<raft::Snapshot> snap = memory_.snapshot();
  Result<uint64_t> last = memory_.last_index();
  return snap.ok() && snap->metadata.index == 0 && last.ok() && *last == 0 && memory_.hard_state().empty();
}

Status WalStorage::bootstrap(const raft::ConfState& conf_state) {
  if (!needs_bootstrap()) return Status::FailedPrecondition("the log in " + wal_dir_ + " is already bootstrapped");
  raft::MemoryStorage fresh;
  KEEL_RETURN_IF_ERROR(fresh.Bootstrap(conf_state));
  Result<raft::Snapshot> snap = fresh.snapshot();
  if (!snap.ok()) return snap.status();
  EmptySource nothing;  // a new cluster's state machine is empty
  Result<std::string> file = write_snapshot_file(*fs_, snap_dir_, snap->metadata, "none", nothing);
  if (!file.ok()) return file.status();
  KEEL_RETURN_IF_ERROR(wal_->save_snapshot_marker(SnapshotMarker{snap->metadata.index, snap->metadata.term}));
  KEEL_RETURN_IF_ERROR(wal_->save(fresh.hard_state(), {}, true));
  return memory_.Bootstrap(conf_state);
}

Status WalStorage::persist(const raft::HardState& hard_state, const std::vector<raft::Entry>& entries, bool sync) {
  KEEL_RETURN_IF_ERROR(wal_->save(hard_state, entries, sync));
  KEEL_RETURN_IF_ERROR(memory_.append(entries));
  if (!hard_state.empty()) memory_.set_hard_state(hard_state);
  return Status::OK();
}

Status WalStorage::save_snapshot(const raft::Snapshot& snapshot) {
  KEEL_RETURN_IF_ERROR(
      wal_->save_snapshot_marker(SnapshotMarker{snapshot.metadata.index, snapshot.metadata.term, true}));
  snapshot_from_leader_ = true;
  return memory_.apply_snapshot(snapshot);
}

Status WalStorage::record_local_snapshot(const raft::SnapshotMetadata& metadata, std::string data) {
  KEEL_RETURN_IF_ERROR(wal_->save_snapshot_marker(SnapshotMarker{metadata.index, metadata.term}));
  snapshot_from_leader_ = false;
  Result<raft::Snapshot> made = memory_.create_snapshot(metadata.index, metadata.conf_state, std::move(data));
  return made.status();
}

Status WalStorage::compact(uint64_t index, size_t max_wals, size_t max_snapshots) {
  Result<raft::Snapshot> snap = memory_.snapshot();
  if (!snap.ok()) return snap.status();
  if (index > snap->metadata.index) {
    return Status::InvalidArgument("cannot compact the log past the newest snapshot (" +
                                   std::to_string(snap->metadata.index) + ")");
  }
  Result<uint64_t> first = memory_.first_index();
  if (index >= *first) KEEL_RETURN_IF_ERROR(memory_.compact(index));
  KEEL_RETURN_IF_ERROR(wal_->purge(snap->metadata.index, max_wals));
  return purge_snapshot_files(*fs_, snap_dir_, max_snapshots, snap->metadata.index);
}

}  // namespace keel::wal
