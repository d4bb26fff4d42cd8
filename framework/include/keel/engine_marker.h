// keel/engine_marker.h: the file `keel-backend` in a backend's data directory — which engine wrote
// the store and in what format — so a backend refuses another engine's data (the Backend contract
// in keel/backend.h). Header-only, for every backend plugin, in keel's tree or outside it.
//
//   engine=lmdb        (or leveldb, or an outside plugin's name)
//   format=1
//
// Making a store writes the marker first with "state=creating", then the engine's files, then the
// marker again without it. So a dir with engine files but no marker is foreign, never ours, and a
// crash while making a store leaves a "creating" marker: the next open or restore starts over.
// Thread safety: free functions on files; callers serialize use of one directory.
#ifndef KEEL_ENGINE_MARKER_H_
#define KEEL_ENGINE_MARKER_H_

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "keel/status.h"

namespace keel {

inline constexpr const char* kMarkerFile = "keel-backend";

struct EngineMarker {
  std::string engine;
  uint32_t format = 0;
  // False while a store is being made (or restored): the marker then also says "state=creating",
  // the dir holds no store yet, and its engine files may be removed and made again.
  bool complete = true;
};

// NotFound if `dir` has no marker; Corruption if the marker cannot be parsed.
inline Result<EngineMarker> read_marker(const std::string& dir);

// Writes the marker atomically (temporary file, fsync, rename, fsync of the directory).
inline Status write_marker(const std::string& dir, const EngineMarker& marker);

// OK if the marker names `engine` at a format this code reads (<= `format`), else
// FailedPrecondition naming both engines or both formats.
inline Status check_marker(const std::string& dir, const EngineMarker& found, const std::string& engine,
                    uint32_t format);

// Decides how to open `dir` for `engine`: false if it holds a complete store of ours (the caller
// opens it), true if a new store is to be made there (the dir is then empty). Refuses another
// engine's or a newer format's marker (FailedPrecondition), files without a marker (Corruption),
// and an empty dir or a half-made store when !create_if_missing (NotFound). Removes the leftovers
// of a crash while a store was being made.
inline Result<bool> is_fresh(const std::string& dir, bool create_if_missing, const std::string& engine,
                      uint32_t format);

// Makes `dir` ready for a restore: creates it, clears a half-made store of `engine` left by a crash,
// refuses (FailedPrecondition) a dir that holds anything else.
inline Status prepare_restore_dir(const std::string& dir, const std::string& engine);

// Removes everything in `dir` but the marker: the leftovers of a store that was never complete.
inline Status remove_engine_files(const std::string& dir);

// Opens `dir` and takes an exclusive lock on it for as long as the returned descriptor stays
// open, so no second store (in this process or another) works on the same files. FailedPrecondition
// if another store holds it; IOError otherwise. The caller closes the descriptor when it closes.
inline Result<int> lock_data_dir(const std::string& dir);

// fsyncs a file or directory by path: IOError on failure.
inline Status fsync_path(const std::string& path);


// ---- definitions ----


namespace engine_marker_detail {

inline std::string errno_text(int err) { return std::strerror(err); }

inline Status io_error(const std::string& what, const std::string& path, int err) {
  return Status::IOError(what + " " + path + ": " + errno_text(err));
}

}  // namespace engine_marker_detail

inline Result<int> lock_data_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return engine_marker_detail::io_error("open", dir, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition("data dir " + dir + " is in use by another open store");
    }
    return engine_marker_detail::io_error("lock", dir, err);
  }
  return fd;
}

inline Status fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return engine_marker_detail::io_error("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return engine_marker_detail::io_error("fsync", path, err);
  return Status::OK();
}

inline Result<EngineMarker> read_marker(const std::string& dir) {
  std::string path = dir + "/" + kMarkerFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) {
      return Status::NotFound("no engine marker " + path);
    }
    return Status::IOError("cannot read " + path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  EngineMarker marker;
  bool have_format = false;
  std::istringstream lines(text.str());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos) return Status::Corruption("bad line in " + path + ": " + line);
    std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "engine") {
      marker.engine = value;
    } else if (key == "state") {
      marker.complete = value != "creating";
    } else if (key == "format") {
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), marker.format);
      if (ec != std::errc() || end != value.data() + value.size()) {
        return Status::Corruption("bad format version in " + path + ": " + value);
      }
      have_format = true;
    }  // Other keys are left for later formats to add; an older reader ignores them.
  }
  if (marker.engine.empty() || !have_format) {
    return Status::Corruption(path + " does not name an engine and a format");
  }
  return marker;
}

inline Status write_marker(const std::string& dir, const EngineMarker& marker) {
  std::string path = dir + "/" + kMarkerFile;
  std::string tmp = path + ".tmp";
  std::string text = "engine=" + marker.engine + "\nformat=" + std::to_string(marker.format) + "\n";
  if (!marker.complete) text += "state=creating\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return engine_marker_detail::io_error("create", tmp, errno);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  if (n != static_cast<ssize_t>(text.size())) {
    ::close(fd);
    return engine_marker_detail::io_error("write", tmp, n < 0 ? err : ENOSPC);
  }
  if (::fsync(fd) != 0) {
    err = errno;
    ::close(fd);
    return engine_marker_detail::io_error("fsync", tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return engine_marker_detail::io_error("rename", tmp, errno);
  return fsync_path(dir);
}

inline Status remove_engine_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() == kMarkerFile) continue;
    std::filesystem::remove_all(e.path(), ec);
    if (ec) return Status::IOError("remove " + e.path().string() + ": " + ec.message());
  }
  if (ec) return Status::IOError("list " + dir + ": " + ec.message());
  return Status::OK();
}

inline Result<bool> is_fresh(const std::string& dir, bool create_if_missing, const std::string& engine,
                      uint32_t format) {
  namespace fs = std::filesystem;
  std::error_code ec;
  auto marker = read_marker(dir);
  if (marker.ok()) {
    KEEL_RETURN_IF_ERROR(check_marker(dir, *marker, engine, format));
    if (marker->complete) return false;
    if (!create_if_missing) return Status::NotFound("no store in " + dir + " (one was being made)");
    KEEL_RETURN_IF_ERROR(remove_engine_files(dir));
    return true;
  }
  if (!marker.status().is_not_found()) return marker.status();
  // A crash while the first marker was written leaves only its temporary.
  fs::remove(dir + "/" + kMarkerFile + ".tmp", ec);
  if (!fs::is_empty(dir, ec) || ec) {
    return Status::Corruption("data dir " + dir +
                              " holds files but no keel-backend marker: not a keel store");
  }
  if (!create_if_missing) return Status::NotFound("no store in " + dir);
  return true;
}

inline Status prepare_restore_dir(const std::string& dir, const std::string& engine) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("create " + dir + ": " + ec.message());
  auto marker = read_marker(dir);
  if (marker.ok() && !marker->complete && marker->engine == engine) {
    KEEL_RETURN_IF_ERROR(remove_engine_files(dir));
    fs::remove(dir + "/" + kMarkerFile, ec);
  }
  fs::remove(dir + "/" + kMarkerFile + ".tmp", ec);
  if (!fs::is_empty(dir, ec) || ec) {
    return Status::FailedPrecondition("restore: data dir " + dir + " is not empty");
  }
  return Status::OK();
}

inline Status check_marker(const std::string& dir, const EngineMarker& found, const std::string& engine,
                    uint32_t format) {
  if (found.engine != engine) {
    return Status::FailedPrecondition("data dir " + dir + " holds a " + found.engine +
                                      " store; the " + engine + " backend cannot open it");
  }
  if (found.format > format) {
    return Status::FailedPrecondition("data dir " + dir + " holds " + engine + " format " +
                                      std::to_string(found.format) + "; this " + engine +
                                      " backend reads formats up to " + std::to_string(format));
  }
  return Status::OK();
}


}  // namespace keel

#endif  // KEEL_ENGINE_MARKER_H_
