// (A copy of backend-lmdb/engine_marker.h: plugins share no code but keel's public headers.)
// The file `keel-backend` in a data directory: which engine wrote the store and in what format.
//
//   engine=leveldb
//   format=1
//
// It is written last when a store is made (after the engine's own files are on disk), so a
// directory with engine files but no marker is a half-made or foreign store, never a good one.
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
};

// NotFound if `dir` has no marker; Corruption if the marker cannot be parsed.
Result<EngineMarker> read_marker(const std::string& dir);

// Writes the marker atomically (temporary file, fsync, rename, fsync of the directory).
Status write_marker(const std::string& dir, const EngineMarker& marker);

// OK if the marker names `engine` at a format this code reads (<= `format`), else
// FailedPrecondition naming both engines or both formats.
Status check_marker(const std::string& dir, const EngineMarker& found, const std::string& engine,
                    uint32_t format);

// fsyncs a file or directory by path: IOError on failure.
Status fsync_path(const std::string& path);

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_ENGINE_MARKER_H_
