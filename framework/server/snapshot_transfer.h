// Snapshot transfer: how a leader's store reaches a follower that fell behind the leader's log
// (docs/design.md "The paths of a request", in a cluster).
//
// The store travels in keel's own stream format (docs/format/snapshot-stream.md), not the engine's:
// the members of one cluster may run different Backend engines. The leader writes every bucket
// of one read transaction to a file and the transport streams it; the follower builds a store
// with its own engine from the stream in <member>/snap/<index>.db (the snapshot's index, 16 hex
// digits), durably, before Raft sees the snapshot. Once the snapshot is marked in the WAL, the
// member's store is replaced by it: <member>/db moves aside to db.replaced, the received store
// takes its place, and db.replaced is removed. A crash at any point leaves either the old store
// (and the received one, which the next start installs when the WAL's snapshot is newer than the
// store) or the new one.
//
// Thread safety: functions of paths and streams only; callers serialize work on the same paths.
#ifndef KEEL_SERVER_SNAPSHOT_TRANSFER_H_
#define KEEL_SERVER_SNAPSHOT_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "keel/backend.h"
#include "keel/byte_stream.h"
#include "keel/status.h"

namespace keel::server {

// Where the store received for the snapshot at `index` waits to be installed.
std::string received_backend_dir(const std::string& snap_dir, uint64_t index);

// Writes every bucket of `store` as one consistent stream (one read transaction) to `out`.
Status write_store_stream(Backend& store, ByteSink& out);
// Fills the empty `store` from a stream write_store_stream wrote; the last commit is synced.
// Corruption for a stream that is damaged, cut short or followed by anything.
Status read_store_stream(ByteSource& in, Backend& store);

// Builds a store with `engine` from `stream` at received_backend_dir(snap_dir, index), replacing
// one there. On success the store is complete and durable; on failure nothing is left there.
Status receive_backend(BackendPlugin& engine, const std::string& snap_dir, uint64_t index, ByteSource& stream);

// Removes the received stores in `snap_dir` for snapshots at or below `up_to`, and what an
// interrupted receive left.
Status remove_received_backends(const std::string& snap_dir, uint64_t up_to);

// Makes the store at `received` the one at `db_dir` (whose store must be closed), durably.
Status install_backend(const std::string& received, const std::string& db_dir);

// Finishes what a crash in install_backend left: a store moved aside is removed.
Status finish_install(const std::string& db_dir);

// Runs `copy` into a file at `path` and returns the file as a stream (the file is gone once the
// stream is destroyed). For the leader's side: the copy is taken at once (the store is not held
// while the receiver reads), and the stream is read at the receiver's pace.
Result<std::unique_ptr<ByteSource>> copy_to_file(const std::string& path,
                                                 const std::function<Status(ByteSink&)>& copy);

}  // namespace keel::server

#endif  // KEEL_SERVER_SNAPSHOT_TRANSFER_H_
