// (A copy of backend-lmdb/engine_marker.h: plugins share no code but keel's public headers.)
// The file `keel-backend` in a data directory: which engine wrote the store and in what format.
//
//   engine=leveldb
//   format=1
//
// Making a store writes the marker first with "state=creating", then the engine's files, then the
// marker again without it. So a dir with engine files but no marker is foreign, never ours, and a
// crash while making a store leaves a "creating" marker: the next open or restore starts over.
// Thread safety: free functions on files; callers serialize use of one directory.
#ifndef KEEL_PLUGINS_BACKEND_LEVELDB_ENGINE_MARKER_H_
#define KEEL_PLUGINS_BACKEND_LEVELDB_ENGINE_MARKER_H_

#include <cstdint>
#include <string>

#include "keel/status.h"

namespace keel::backend_leveldb {

inline constexpr const char* kMarkerFile = "keel-backend";

struct EngineMarker {
  std::string engine;
  uint32_t format = 0;
  // False while a store is being made (or restored): the marker then also says "state=creating",
  // the dir holds no store yet, and its engine files may be removed and made again.
  bool complete = true;
};

// NotFound if `dir` has no marker; Corruption if the marker cannot be parsed.
Result<EngineMarker> read_marker(const std::string& dir);

// Writes the marker atomically (temporary file, fsync, rename, fsync of the directory).
Status write_marker(const std::string& dir, const EngineMarker& marker);

// OK if the marker names `engine` at a format this code reads (<= `format`), else
// FailedPrecondition naming both engines or both formats.
Status check_marker(const std::string& dir, const EngineMarker& found, const std::string& engine,
                    uint32_t format);

// Decides how to open `dir` for `engine`: false if it holds a complete store of ours (the caller
// opens it), true if a new store is to be made there (the dir is then empty). Refuses another
// engine's or a newer format's marker (FailedPrecondition), files without a marker (Corruption),
// and an empty dir or a half-made store when !create_if_missing (NotFound). Removes the leftovers
// of a crash while a store was being made.
Result<bool> is_fresh(const std::string& dir, bool create_if_missing, const std::string& engine,
                      uint32_t format);

// Makes `dir` ready for a restore: creates it, clears a half-made store of `engine` left by a crash,
// refuses (FailedPrecondition) a dir that holds anything else.
Status prepare_restore_dir(const std::string& dir, const std::string& engine);

// Removes everything in `dir` but the marker: the leftovers of a store that was never complete.
Status remove_engine_files(const std::string& dir);

// fsyncs a file or directory by path: IOError on failure.
Status fsync_path(const std::string& path);

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_ENGINE_MARKER_H_
