// Snapshot files: a Raft snapshot's metadata (index, term, membership) and the Backend's streamed
// copy of the state machine at that index, in <dir>/<term>-<index>.snap (16 hex digits each).
// The format is in docs/format/snapshot.md: a checksummed header, checksummed chunks of data and
// a trailer with the total length and checksum, so a file cut short or damaged anywhere is found.
//
// A file is written under a temporary name, synced, renamed and its folder synced: a crash leaves
// either the whole file or none. The newest valid one is what a member restarts from; a damaged
// one is renamed to *.broken (kept for a person to look at) and the next older one is used.
#ifndef KEEL_WAL_SNAPSHOT_FILE_H_
#define KEEL_WAL_SNAPSHOT_FILE_H_

#include <optional>
#include <string>

#include "keel/byte_stream.h"
#include "keel/logger.h"
#include "keel/status.h"
#include "raft/messages.h"
#include "wal/file_system.h"

namespace keel::wal {

struct SnapshotFileInfo {
  raft::SnapshotMetadata metadata;
  std::string engine;  // the backend that wrote the data (e.g. "lmdb")
  std::string path;
};

// Writes a snapshot file in `dir` from `data` (read to its end). Returns the file's path.
Result<std::string> write_snapshot_file(FileSystem& fs, const std::string& dir,
                                        const raft::SnapshotMetadata& metadata, const std::string& engine,
                                        ByteSource& data);

// Reads a snapshot file's header. Corruption if it is not a whole, valid header.
Result<SnapshotFileInfo> read_snapshot_info(FileSystem& fs, const std::string& path);

// Streams the file's data to `out`, checking every chunk and the trailer. Corruption names the
// file and offset of the first damage; `out` may have taken part of the data by then.
Status read_snapshot_data(FileSystem& fs, const std::string& path, ByteSink& out);

// The newest snapshot file in `dir` at or below `max_index` that is whole and valid (every
// checksum is checked), or none. Damaged newer ones are renamed to <name>.broken, with a warning
// in the log.
Result<std::optional<SnapshotFileInfo>> newest_valid_snapshot(FileSystem& fs, const std::string& dir,
                                                              Logger* logger, uint64_t max_index = UINT64_MAX);

// Removes the oldest snapshot files at or below `max_index` (the snapshot the WAL marks) while
// more than `keep` of those remain (etcd's --max-snapshots; 0 keeps them all). Newer files (one
// being written, not yet marked) are left alone.
Status purge_snapshot_files(FileSystem& fs, const std::string& dir, size_t keep, uint64_t max_index = UINT64_MAX);

// Removes the snapshot files above `index` (written, but never marked in the WAL).
Status remove_snapshot_files_above(FileSystem& fs, const std::string& dir, uint64_t index);

}  // namespace keel::wal

#endif  // KEEL_WAL_SNAPSHOT_FILE_H_
