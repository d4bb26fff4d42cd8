#include "engine_marker.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace keel::backend_lmdb {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status::IOError(what + " " + path + ": " + errno_text(err));
}

}  // namespace

Status fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync", path, err);
  return Status::OK();
}

Result<EngineMarker> read_marker(const std::string& dir) {
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

Status write_marker(const std::string& dir, const EngineMarker& marker) {
  std::string path = dir + "/" + kMarkerFile;
  std::string tmp = path + ".tmp";
  std::string text = "engine=" + marker.engine + "\nformat=" + std::to_string(marker.format) + "\n";
  if (!marker.complete) text += "state=creating\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("create", tmp, errno);
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  if (n != static_cast<ssize_t>(text.size())) {
    ::close(fd);
    return io_error("write", tmp, n < 0 ? err : ENOSPC);
  }
  if (::fsync(fd) != 0) {
    err = errno;
    ::close(fd);
    return io_error("fsync", tmp, err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename", tmp, errno);
  return fsync_path(dir);
}

Status remove_engine_files(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.path().filename() == kMarkerFile) continue;
    std::filesystem::remove_all(e.path(), ec);
    if (ec) return Status::IOError("remove " + e.path().string() + ": " + ec.message());
  }
  if (ec) return Status::IOError("list " + dir + ": " + ec.message());
  return Status::OK();
}

Result<bool> is_fresh(const std::string& dir, bool create_if_missing, const std::string& engine,
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

Status prepare_restore_dir(const std::string& dir, const std::string& engine) {
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

Status check_marker(const std::string& dir, const EngineMarker& found, const std::string& engine,
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

}  // namespace keel::backend_lmdb
