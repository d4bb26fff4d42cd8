#include "wal/wal.h"

#include <cinttypes>
#include <cstdio>

namespace keel::wal {
namespace {

constexpr const char* kSegmentSuffix = ".wal";
constexpr const char* kTempSuffix = ".tmp";

bool parse_segment_name(const std::string& name, uint64_t* seq, uint64_t* first_index) {
  if (name.size() != 16 + 1 + 16 + 4 || name.compare(33, 4, kSegmentSuffix) != 0 || name[16] != '-') return false;
  for (size_t i = 0; i < 33; ++i) {
    if (i == 16) continue;
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  *seq = std::stoull(name.substr(0, 16), nullptr, 16);
  *first_index = std::stoull(name.substr(17, 16), nullptr, 16);
  return true;
}

std::string segment_head(const WalMetadata& metadata, const SnapshotMarker& snapshot, const raft::HardState& hs) {
  std::string head;
  append_record(RecordType::kMetadata, encode_metadata(metadata), &head);
  if (snapshot.index > 0) {
    // The log before a segment's head is in the earlier segments (or purged with them): nothing
    // before it for the marker to replace.
    SnapshotMarker head_marker = snapshot;
    head_marker.replaces_log = false;
    append_record(RecordType::kSnapshotMarker, encode_snapshot_marker(head_marker), &head);
  }
  if (!hs.empty()) append_record(RecordType::kHardState, encode_hard_state(hs), &head);
  return head;
}

// Replays the records of every segment into *contents.
class Replay {
 public:
  Replay(FileSystem& fs, const std::string& dir, Logger* logger, WalContents* contents)
      : fs_(fs), dir_(dir), logger_(logger), out_(contents) {}

  // Reads one segment; for the last one, *end is where its valid records stop.
  Status segment(const std::string& name, bool last, uint64_t* end) {
    const std::string path = dir_ + "/" + name;
    Result<std::string> read = fs_.read_file(path);
    if (!read.ok()) return read.status();
    const std::string& data = *read;
    size_t offset = 0;
    for (uint64_t n = 1;; ++n) {
      RecordRead r = read_record(data, offset);
      if (r.kind == RecordRead::Kind::kEnd) {
        if (last) return clear_after_end(path, data, offset, end);
        if (!all_zero_from(data, offset)) {
          return Status::Corruption("WAL file " + path + " has data after its end at offset " +
                                    std::to_string(offset) + " (record " + std::to_string(n) + ")");
        }
        break;
      }
      if (r.kind == RecordRead::Kind::kBad) {
        if (last && r.torn && !valid_record_after(data, offset + 1)) {
          return cut_torn_tail(path, data, offset, n, r.reason, end);
        }
        if (last && r.torn) {
          return Status::Corruption("WAL file " + path + " is damaged at offset " + std::to_string(offset) +
                                    " (record " + std::to_string(n) + "): " + r.reason +
                                    ", and whole records follow it; refusing to start rather than drop them");
        }
        return Status::Corruption("WAL file " + path + " is damaged at offset " + std::to_string(offset) +
                                  " (record " + std::to_string(n) + "): " + r.reason +
                                  "; refusing to start rather than drop acknowledged entries");
      }
      Status applied = apply(r, n == 1);
      if (!applied.ok()) {
        return Status::Corruption("WAL file " + path + " at offset " + std::to_string(offset) + " (record " +
                                  std::to_string(n) + "): " + applied.message());
      }
      offset += r.size;
    }
    *end = offset;
    return Status::OK();
  }

  // Drops what the snapshot covers and checks the entries join it.
  Status finish() {
    const auto& entries = out_->entries;
    if (!entries.empty() && entries.front().index != out_->snapshot.index + 1) {
      return Status::Corruption("WAL in " + dir_ + ": entries start at index " + std::to_string(entries.front().index) +
                                " but the newest snapshot ends at " + std::to_string(out_->snapshot.index));
    }
    if (!seen_metadata_) return Status::Corruption("WAL in " + dir_ + " holds no metadata record");
    return Status::OK();
  }

 private:
  // A snapshot holds every entry up to its index: those need not be kept, and entries that follow
  // it (from a leader's snapshot) may jump past what the log held.
  void drop_covered_entries() {
    auto& entries = out_->entries;
    size_t covered = 0;
    while (covered < entries.size() && entries[covered].index <= out_->snapshot.index) ++covered;
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(covered));
  }

  Status apply(const RecordRead& r, bool first_in_segment) {
    if (first_in_segment && r.type != RecordType::kMetadata) {
      return Status::Corruption("the segment does not begin with a metadata record");
    }
    switch (r.type) {
      case RecordType::kMetadata: {
        Result<WalMetadata> m = decode_metadata(r.payload);
        if (!m.ok()) return m.status();
        if (seen_metadata_ && !(*m == out_->metadata)) {
          return Status::Corruption("metadata differs from the earlier segments' (another member's log?)");
        }
        out_->metadata = *m;
        seen_metadata_ = true;
        return Status::OK();
      }
      case RecordType::kHardState: {
        Result<raft::HardState> hs = decode_hard_state(r.payload);
        if (!hs.ok()) return hs.status();
        out_->hard_state = *hs;
        return Status::OK();
      }
      case RecordType::kSnapshotMarker: {
        Result<SnapshotMarker> s = decode_snapshot_marker(r.payload);
        if (!s.ok()) return s.status();
        if (s->index >= out_->snapshot.index) out_->snapshot = *s;
        // Entries past a leader's snapshot written before it were a log the snapshot replaced
        // (an old term's tail): they must not come back.
        if (s->replaces_log) out_->entries.clear();
        drop_covered_entries();
        return Status::OK();
      }
      case RecordType::kEntry: {
        Result<raft::Entry> e = decode_entry(r.payload);
        if (!e.ok()) return e.status();
        auto& entries = out_->entries;
        if (e->index <= out_->snapshot.index) return Status::OK();  // already in the snapshot
        // Raft overwrites a conflicting tail by appending from an earlier index.
        while (!entries.empty() && entries.back().index >= e->index) entries.pop_back();
        if (!entries.empty() && entries.back().index + 1 != e->index) {
          return Status::Corruption("entry " + std::to_string(e->index) + " follows entry " +
                                    std::to_string(entries.back().index));
        }
        entries.push_back(std::move(e).value());
        return Status::OK();
      }
    }
    return Status::Corruption("unknown record type");
  }

  static bool all_zero_from(const std::string& data, size_t offset) {
    return data.find_first_not_of('\0', offset) == std::string::npos;
  }

  // Whether a whole, valid record starts anywhere at or after `from`: a damaged record with whole
  // records after it is not the end of what was written, whatever its zeros say.
  static bool valid_record_after(const std::string& data, size_t from) {
    for (size_t at = from; at + kRecordHeaderSize <= data.size(); ++at) {
      if (read_record(data, at).kind == RecordRead::Kind::kRecord) return true;
    }
    return false;
  }

  // Zeroes [offset, the last non-zero byte] and syncs, so the next append cannot run into bytes of
  // an older write (a crash can leave later sectors written and earlier ones not).
  Status zero_from(const std::string& path, const std::string& data, size_t offset) {
    size_t last_nonzero = data.size();
    while (last_nonzero > offset && data[last_nonzero - 1] == 0) --last_nonzero;
    if (last_nonzero == offset) return Status::OK();
    Result<std::unique_ptr<WritableFile>> f = fs_.reopen(path, offset);
    if (!f.ok()) return f.status();
    KEEL_RETURN_IF_ERROR((*f)->append(std::string(last_nonzero - offset, '\0')));
    KEEL_RETURN_IF_ERROR((*f)->sync());
    return (*f)->close();
  }

  // The written part of the last segment ends here; whatever a crash left beyond it was never
  // acknowledged (records are synced in order) and goes.
  Status clear_after_end(const std::string& path, const std::string& data, size_t offset, uint64_t* end) {
    if (!all_zero_from(data, offset)) {
      if (valid_record_after(data, offset + 1)) {
        return Status::Corruption("WAL file " + path + " has an unwritten record at offset " +
                                  std::to_string(offset) + " with whole records after it; refusing to start "
                                  "rather than drop them");
      }
      KEEL_RETURN_IF_ERROR(zero_from(path, data, offset));
      if (logger_ != nullptr) {
        logger_->warn("WAL file " + path + ": cleared the unacknowledged bytes after offset " + std::to_string(offset));
      }
    }
    *end = offset;
    return Status::OK();
  }

  // The last record was cut short by a crash: it was never acknowledged (its sync never
  // finished), so it goes, with every unwritten byte after it zeroed so the next append cannot
  // be mistaken for more of it.
  Status cut_torn_tail(const std::string& path, const std::string& data, size_t offset, uint64_t n,
                       const std::string& reason, uint64_t* end) {
    KEEL_RETURN_IF_ERROR(zero_from(path, data, offset));
    if (logger_ != nullptr) {
      logger_->warn("WAL file " + path + ": cut a torn last record at offset " + std::to_string(offset) +
                    " (record " + std::to_string(n) + ": " + reason + "); it was never acknowledged");
    }
    out_->torn_tail_cut = true;
    *end = offset;
    return Status::OK();
  }

  FileSystem& fs_;
  const std::string& dir_;
  Logger* logger_;
  WalContents* out_;
  bool seen_metadata_ = false;
};

}  // namespace

Wal::Wal(FileSystem& fs, std::string dir, WalOptions options, WalMetadata metadata)
    : fs_(fs), dir_(std::move(dir)), options_(options), metadata_(metadata) {}

Wal::~Wal() { close(); }

std::string Wal::segment_name(uint64_t seq, uint64_t first_index) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 "%s", seq, first_index, kSegmentSuffix);
  return name;
}

Result<bool> Wal::exists(FileSystem& fs, const std::string& dir) {
  if (!fs.exists(dir)) return false;
  Result<std::vector<std::string>> names = fs.list(dir);
  if (!names.ok()) return names.status();
  uint64_t seq, first;
  for (const auto& n : *names) {
    if (parse_segment_name(n, &seq, &first)) return true;
  }
  return false;
}

Status Wal::remove_temp_segments(FileSystem& fs, const std::string& dir) {
  Result<std::vector<std::string>> names = fs.list(dir);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    // A segment whose creation a crash interrupted: it never held an acknowledged record.
    if (name.size() > 8 && name.compare(name.size() - 8, 8, std::string(kSegmentSuffix) + kTempSuffix) == 0) {
      KEEL_RETURN_IF_ERROR(fs.remove(dir + "/" + name));
    }
  }
  return Status::OK();
}

Result<std::unique_ptr<Wal>> Wal::create(FileSystem& fs, const std::string& dir, const WalMetadata& metadata,
                                         const WalOptions& options) {
  Result<bool> found = exists(fs, dir);
  if (!found.ok()) return found.status();
  if (*found) return Status::FailedPrecondition("a WAL already exists in " + dir);
  KEEL_RETURN_IF_ERROR(fs.create_dirs(dir));
  KEEL_RETURN_IF_ERROR(remove_temp_segments(fs, dir));
  std::unique_ptr<Wal> wal(new Wal(fs, dir, options, metadata));
  std::unique_lock<std::mutex> lock(wal->mu_);
  KEEL_RETURN_IF_ERROR(wal->start_segment(0, 1, lock));
  lock.unlock();
  return wal;
}

Result<std::unique_ptr<Wal>> Wal::open(FileSystem& fs, const std::string& dir, const WalOptions& options,
                                       WalContents* contents) {
  *contents = WalContents{};
  Result<std::vector<std::string>> names = fs.list(dir);
  if (!names.ok()) return Status::NotFound("no WAL in " + dir + ": " + names.status().message());
  std::vector<Segment> segments;
  for (const auto& name : *names) {
    uint64_t seq, first;
    if (parse_segment_name(name, &seq, &first)) {
      segments.push_back(Segment{seq, first, name});
    }
  }
  KEEL_RETURN_IF_ERROR(remove_temp_segments(fs, dir));
  if (segments.empty()) return Status::NotFound("no WAL in " + dir);
  for (size_t i = 1; i < segments.size(); ++i) {
    if (segments[i].seq != segments[i - 1].seq + 1) {
      return Status::Corruption("WAL in " + dir + " is missing a segment between " + segments[i - 1].name +
                                " and " + segments[i].name);
    }
  }

  Replay replay(fs, dir, options.logger, contents);
  uint64_t end = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    KEEL_RETURN_IF_ERROR(replay.segment(segments[i].name, i + 1 == segments.size(), &end));
  }
  KEEL_RETURN_IF_ERROR(replay.finish());

  std::unique_ptr<Wal> wal(new Wal(fs, dir, options, contents->metadata));
  Result<std::unique_ptr<WritableFile>> file = fs.reopen(dir + "/" + segments.back().name, end);
  if (!file.ok()) return file.status();
  wal->file_ = std::move(file).value();
  wal->segments_ = std::move(segments);
  wal->hard_state_ = contents->hard_state;
  wal->snapshot_ = contents->snapshot;
  wal->last_index_ = contents->entries.empty() ? contents->snapshot.index : contents->entries.back().index;
  return wal;
}

Status Wal::start_segment(uint64_t seq, uint64_t first_index, std::unique_lock<std::mutex>&) {
  const std::string name = segment_name(seq, first_index);
  const std::string temp = dir_ + "/" + name + kTempSuffix;
  Result<std::unique_ptr<WritableFile>> file = fs_.create(temp, options_.segment_bytes);
  if (!file.ok()) return fail(file.status());
  // The head is durable before the segment takes its name, so a named segment always opens.
  Status s = (*file)->append(segment_head(metadata_, snapshot_, hard_state_));
  if (s.ok()) s = (*file)->sync();
  if (s.ok()) s = fs_.rename(temp, dir_ + "/" + name);
  if (s.ok()) s = fs_.sync_dir(dir_);
  if (!s.ok()) return fail(s);
  file_ = std::move(file).value();
  segments_.push_back(Segment{seq, first_index, name});
  return Status::OK();
}

Status Wal::cut(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [this] { return !syncing_; });
  KEEL_RETURN_IF_ERROR(failure_);
  // Everything in this segment is made durable before anything is written to the next, so only
  // the last segment can ever end torn.
  const std::string path = dir_ + "/" + segments_.back().name;
  Status s = file_->sync();
  if (s.ok()) s = fs_.truncate(path, file_->offset());  // give the unused preallocation back
  if (s.ok()) s = file_->sync();
  if (s.ok()) s = file_->close();
  if (!s.ok()) return fail(s);
  synced_seq_ = written_seq_;
  cv_.notify_all();
  return start_segment(segments_.back().seq + 1, last_index_ + 1, lock);
}

Status Wal::write(const std::string& records, std::unique_lock<std::mutex>& lock, uint64_t* seq) {
  KEEL_RETURN_IF_ERROR(failure_);
  if (!file_) return Status::FailedPrecondition("the WAL in " + dir_ + " is closed");
  if (file_->offset() + records.size() > options_.segment_bytes) KEEL_RETURN_IF_ERROR(cut(lock));
  Status s = file_->append(records);
  if (!s.ok()) return fail(s);
  *seq = ++written_seq_;
  return Status::OK();
}

Status Wal::wait_durable(uint64_t seq, std::unique_lock<std::mutex>& lock) {
  if (options_.unsafe_no_fsync) return failure_;
  // Group commit: whoever finds no sync running syncs everything written so far; the others wait
  // for a sync that began after their write.
  while (synced_seq_ < seq && failure_.ok()) {
    if (syncing_) {
      cv_.wait(lock);
      continue;
    }
    syncing_ = true;
    uint64_t target = written_seq_;
    WritableFile* file = file_.get();
    lock.unlock();
    Status s = file->sync();
    lock.lock();
    syncing_ = false;
    if (s.ok()) {
      synced_seq_ = std::max(synced_seq_, target);
    } else {
      fail(s);
    }
    cv_.notify_all();
  }
  return failure_;
}

Status Wal::fail(Status s) {
  if (failure_.ok()) {
    failure_ = s.with_context("WAL stopped");
    if (options_.logger != nullptr) options_.logger->error(failure_.message());
  }
  cv_.notify_all();
  return failure_;
}

Status Wal::save(const raft::HardState& hard_state, const std::vector<raft::Entry>& entries, bool sync) {
  for (const auto& e : entries) {
    // Refused before anything is written: a record the reader would call damage is never acked.
    if (e.data.size() + 17 > kMaxRecordPayload) {
      return Status::InvalidArgument("entry " + std::to_string(e.index) + " of " + std::to_string(e.data.size()) +
                                     " bytes is larger than the WAL's record limit");
    }
  }
  std::string records;
  for (const auto& e : entries) append_record(RecordType::kEntry, encode_entry(e), &records);
  if (!hard_state.empty()) append_record(RecordType::kHardState, encode_hard_state(hard_state), &records);
  if (records.empty()) return Status::OK();
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t seq = 0;
  KEEL_RETURN_IF_ERROR(write(records, lock, &seq));
  if (!entries.empty()) last_index_ = entries.back().index;
  if (!hard_state.empty()) hard_state_ = hard_state;
  return sync ? wait_durable(seq, lock) : Status::OK();
}

Status Wal::sync() {
  std::unique_lock<std::mutex> lock(mu_);
  return wait_durable(written_seq_, lock);
}

Status Wal::save_snapshot_marker(const SnapshotMarker& marker) {
  std::string record;
  append_record(RecordType::kSnapshotMarker, encode_snapshot_marker(marker), &record);
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t seq = 0;
  KEEL_RETURN_IF_ERROR(write(record, lock, &seq));
  if (marker.index > snapshot_.index) snapshot_ = marker;
  return wait_durable(seq, lock);
}

Status Wal::purge(uint64_t snapshot_index, size_t keep) {
  if (keep == 0) return Status::OK();  // etcd: 0 keeps every segment
  std::unique_lock<std::mutex> lock(mu_);
  KEEL_RETURN_IF_ERROR(failure_);
  // Only what a snapshot marker in the log covers may go, whatever the caller believes.
  snapshot_index = std::min(snapshot_index, snapshot_.index);
  bool removed = false;
  // Segment 0's entries all come before segment 1's first index.
  while (segments_.size() > keep && segments_[1].first_index <= snapshot_index + 1) {
    KEEL_RETURN_IF_ERROR(fs_.remove(dir_ + "/" + segments_.front().name));
    segments_.erase(segments_.begin());
    removed = true;
  }
  return removed ? fs_.sync_dir(dir_) : Status::OK();
}

Status Wal::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failure_;
}

std::vector<std::string> Wal::segment_names() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> names;
  for (const auto& s : segments_) names.push_back(s.name);
  return names;
}

Status Wal::close() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return !syncing_; });
  if (!file_) return Status::OK();
  Status s = file_->close();
  file_.reset();
  return s;
}

}  // namespace keel::wal
