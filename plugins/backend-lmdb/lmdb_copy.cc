#include "lmdb_copy.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "keel/engine_marker.h"
#include "lmdb_status.h"

namespace keel::backend_lmdb {

namespace {

constexpr char kMagic[] = "KEELLMDB";
constexpr char kEndMagic[] = "LEND";
constexpr uint32_t kCopyFormat = 1;

template <typename T>
void append_le(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof(v));  // little-endian hosts only
}

template <typename T>
T read_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Reads exactly n bytes unless the stream ends first; returns how many were read.
Result<size_t> read_full(ByteSource& in, char* buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    auto r = in.read(buf + got, n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) break;
    got += *r;
  }
  return got;
}

Status write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::IOError("write " + path + ": " + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// Reads a copy into options.dir (whose marker says "creating"); the caller cleans up on failure.
Status restore_body(const BackendOptions& options, ByteSource& copy, const LmdbSettings& settings,
                    Logger& logger) {
  const std::string& dir = options.dir;
  char header[kCopyHeaderSize];
  auto got = read_full(copy, header, sizeof(header));
  if (!got.ok()) return got.status();
  if (*got != sizeof(header) || std::memcmp(header, kMagic, 8) != 0) {
    return Status::Corruption("restore: the stream is not an lmdb backend copy");
  }
  if (read_le<uint32_t>(header + 8) > kCopyFormat) {
    return Status::FailedPrecondition("restore: lmdb copy format " +
                                      std::to_string(read_le<uint32_t>(header + 8)) +
                                      " is newer than this backend reads (" +
                                      std::to_string(kCopyFormat) + ")");
  }
  std::string data = dir + "/" + kDataFile;
  std::string tmp = data + ".restore";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("create " + tmp + ": " + std::strerror(errno));
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  // The trailer is the last kCopyTrailerSize bytes: hold them back until the stream ends.
  std::string pending;
  std::vector<char> buf(1 << 20);
  boost::crc_32_type crc;
  uint64_t size = 0;
  for (;;) {
    auto r = copy.read(buf.data(), buf.size());
    if (!r.ok()) return fail(r.status());
    if (*r == 0) break;
    pending.append(buf.data(), *r);
    if (pending.size() > kCopyTrailerSize) {
      size_t n = pending.size() - kCopyTrailerSize;
      crc.process_bytes(pending.data(), n);
      size += n;
      Status w = write_all(fd, pending.data(), n, tmp);
      if (!w.ok()) return fail(w);
      pending.erase(0, n);
    }
  }
  if (pending.size() != kCopyTrailerSize || pending.compare(12, 4, kEndMagic) != 0 ||
      read_le<uint64_t>(pending.data()) != size ||
      read_le<uint32_t>(pending.data() + 8) != crc.checksum()) {
    return fail(Status::Corruption("restore: the lmdb copy is truncated or damaged"));
  }
  if (::fsync(fd) != 0) return fail(Status::IOError("fsync " + tmp + ": " + std::strerror(errno)));
  ::close(fd);
  if (::rename(tmp.c_str(), data.c_str()) != 0) {
    return Status::IOError("rename " + tmp + ": " + std::strerror(errno));
  }
  KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, true}));
  // Open it once to prove LMDB takes it; a store that does not open is removed again.
  BackendOptions check = options;
  check.create_if_missing = false;
  auto store = LmdbStore::open(check, settings, logger);
  if (!store.ok()) return store.status().with_context("restore");
  return (*store)->close();
}

}  // namespace

Status LmdbStore::copy_to(ByteSink& out) {
  try {
    SharedAccess access(gate_);
    KEEL_RETURN_IF_ERROR(check_open());
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IOError(std::string("pipe: ") + std::strerror(errno));
    int copy_rc = MDB_SUCCESS;
    std::thread copier;
    try {
      // LMDB writes the copy into the pipe from its own read transaction; this thread pumps the
      // pipe into the sink, so a slow sink slows the copy (back-pressure), nothing piles up.
      copier = std::thread([&] {
        // Should the read end close early, the write fails with EPIPE instead of a SIGPIPE
        // killing the process: the signal is blocked in this thread and dies with it.
        sigset_t pipe_signal;
        sigemptyset(&pipe_signal);
        sigaddset(&pipe_signal, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
        copy_rc = mdb_env_copyfd2(env_, fds[1], MDB_CP_COMPACT);
        ::close(fds[1]);
      });
    } catch (...) {
      ::close(fds[0]);
      ::close(fds[1]);
      throw;
    }
    std::string header(kMagic, 8);
    append_le<uint32_t>(&header, kCopyFormat);
    append_le<uint32_t>(&header, 0);
    Status sink = out.write(header);
    boost::crc_32_type crc;
    uint64_t size = 0;
    int read_err = 0;
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = ::read(fds[0], buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        read_err = errno;
        break;
      }
      if (n == 0) break;
      crc.process_bytes(buf.data(), static_cast<size_t>(n));
      size += static_cast<uint64_t>(n);
      // After a sink failure keep draining, so the copier finishes instead of blocking forever.
      if (sink.ok()) sink = out.write(std::string_view(buf.data(), static_cast<size_t>(n)));
    }
    if (read_err != 0) {
      ::close(fds[0]);  // the copier's next write fails with EPIPE and it ends
      copier.join();
      return Status::IOError(std::string("read copy pipe: ") + std::strerror(read_err));
    }
    copier.join();
    ::close(fds[0]);
    KEEL_RETURN_IF_ERROR(lmdb_status(copy_rc, "copy"));
    KEEL_RETURN_IF_ERROR(sink);
    std::string trailer;
    append_le<uint64_t>(&trailer, size);
    append_le<uint32_t>(&trailer, crc.checksum());
    trailer.append(kEndMagic, 4);
    return out.write(trailer);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("lmdb: copy_to: ") + e.what());
  }
}

Status restore_lmdb(const BackendOptions& options, ByteSource& copy, const LmdbSettings& settings,
                    Logger& logger) {
  try {
    const std::string& dir = options.dir;
    KEEL_RETURN_IF_ERROR(prepare_restore_dir(dir, kEngineName));
    // A "creating" marker first: a crash from here on leaves a dir the next restore clears.
    KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, false}));
    Status s = restore_body(options, copy, settings, logger);
    if (!s.ok()) {
      // A failed restore leaves the dir empty.
      std::error_code ec;
      (void)remove_engine_files(dir);
      std::filesystem::remove(dir + "/" + kMarkerFile, ec);
    }
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("lmdb: restore: ") + e.what());
  }
}


}  // namespace keel::backend_lmdb
