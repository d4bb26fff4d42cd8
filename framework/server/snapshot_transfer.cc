#include "server/snapshot_transfer.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "wal/coding.h"
#include "wal/crc32c.h"
#include "wal/file_system.h"

namespace keel::server {
namespace {

namespace fs = std::filesystem;

constexpr const char* kReceivedSuffix = ".db";
constexpr const char* kPartialSuffix = ".db.partial";

Status io_error(const std::string& what, const std::error_code& ec) {
  return Status::IOError(what + ": " + ec.message());
}

Status remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return io_error("removing " + p.string(), ec);
  return Status::OK();
}

// The parent of `p`, synced, so a rename in it survives a crash.
Status sync_parent(const fs::path& p) { return wal::posix_file_system().sync_dir(p.parent_path().string()); }

class FileSink : public ByteSink {
 public:
  explicit FileSink(wal::WritableFile& file) : file_(file) {}
  Status write(std::string_view data) override { return file_.append(data); }

 private:
  wal::WritableFile& file_;
};

// A file already unlinked: the space is given back when the stream is destroyed.
class FileSource : public ByteSource {
 public:
  explicit FileSource(std::unique_ptr<wal::SequentialFile> file) : file_(std::move(file)) {}
  Result<size_t> read(char* buf, size_t n) override { return file_->read(buf, n); }

 private:
  std::unique_ptr<wal::SequentialFile> file_;
};

constexpr std::string_view kMagic = "KEELSNAP";
constexpr uint32_t kVersion = 1;
enum Tag : uint8_t { kBucket = 1, kPair = 2, kEnd = 3 };
constexpr size_t kBatchBytes = 4u << 20;  // a commit's worth while filling a store

using wal::put32;
using wal::put64;

void put_bytes(std::string* out, std::string_view b) {
  put32(out, static_cast<uint32_t>(b.size()));
  out->append(b);
}

// Writes records through a buffer, keeping the CRC-32C of everything written.
class StreamWriter {
 public:
  explicit StreamWriter(ByteSink& out) : out_(out) {}
  std::string& buffer() { return buf_; }
  Status flush(bool all) {
    if (buf_.size() < (1u << 20) && !all) return Status::OK();
    crc_ = wal::crc32c_extend(crc_, buf_);
    Status s = out_.write(buf_);
    buf_.clear();
    return s;
  }
  uint32_t crc() const { return crc_; }

 private:
  ByteSink& out_;
  std::string buf_;
  uint32_t crc_ = 0;
};

// Reads exactly what is asked, keeping the CRC-32C of everything read.
class StreamReader {
 public:
  explicit StreamReader(ByteSource& in) : in_(in) {}
  Status read(size_t n, std::string* out) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      Result<size_t> r = in_.read(out->data() + got, n - got);
      if (!r.ok()) return r.status();
      if (*r == 0) return Status::Corruption("the snapshot stream ends early");
      got += *r;
    }
    crc_ = wal::crc32c_extend(crc_, *out);
    return Status::OK();
  }
  Result<uint32_t> u32() {
    std::string b;
    KEEL_RETURN_IF_ERROR(read(4, &b));
    return wal::get32(b.data());
  }
  Result<uint64_t> u64() {
    std::string b;
    KEEL_RETURN_IF_ERROR(read(8, &b));
    return wal::get64(b.data());
  }
  Status bytes(std::string* out, size_t limit) {
    Result<uint32_t> n = u32();
    if (!n.ok()) return n.status();
    if (*n > limit) return Status::Corruption("the snapshot stream holds a string of " + std::to_string(*n) + " bytes");
    return read(static_cast<size_t>(*n), out);
  }
  bool at_end() {
    char c;
    Result<size_t> r = in_.read(&c, 1);
    return r.ok() && *r == 0;
  }
  uint32_t crc() const { return crc_; }

 private:
  ByteSource& in_;
  uint32_t crc_ = 0;
};

}  // namespace

Status write_store_stream(Backend& store, ByteSink& out) {
  Result<std::unique_ptr<BackendReadTx>> tx = store.begin_read();
  if (!tx.ok()) return tx.status();
  Result<std::vector<std::string>> buckets = (*tx)->buckets();
  if (!buckets.ok()) return buckets.status();
  StreamWriter w(out);
  w.buffer().append(kMagic);
  put32(&w.buffer(), kVersion);
  uint64_t pairs = 0;
  for (const std::string& bucket : *buckets) {
    w.buffer().push_back(static_cast<char>(kBucket));
    put_bytes(&w.buffer(), bucket);
    Result<std::unique_ptr<BackendCursor>> c = (*tx)->cursor(bucket);
    if (!c.ok()) return c.status();
    for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
      w.buffer().push_back(static_cast<char>(kPair));
      put_bytes(&w.buffer(), (*c)->key());
      put_bytes(&w.buffer(), (*c)->value());
      ++pairs;
      KEEL_RETURN_IF_ERROR(w.flush(false));
    }
    KEEL_RETURN_IF_ERROR((*c)->status());
  }
  w.buffer().push_back(static_cast<char>(kEnd));
  put64(&w.buffer(), pairs);
  KEEL_RETURN_IF_ERROR(w.flush(true));
  std::string crc;
  put32(&crc, w.crc());
  return out.write(crc);
}

Status read_store_stream(ByteSource& in, Backend& store) {
  StreamReader r(in);
  std::string magic;
  KEEL_RETURN_IF_ERROR(r.read(kMagic.size(), &magic));
  if (magic != kMagic) return Status::Corruption("not a keel snapshot stream");
  Result<uint32_t> version = r.u32();
  if (!version.ok()) return version.status();
  if (*version != kVersion) {
    return Status::FailedPrecondition("snapshot stream version " + std::to_string(*version) + " (this keel reads " +
                                      std::to_string(kVersion) + ")");
  }
  constexpr size_t kMaxString = 64u << 20;
  WriteBatch batch;
  std::string bucket;
  bool in_bucket = false;
  uint64_t pairs = 0;
  for (;;) {
    std::string tag;
    KEEL_RETURN_IF_ERROR(r.read(1, &tag));
    if (tag[0] == kBucket) {
      KEEL_RETURN_IF_ERROR(r.bytes(&bucket, kMaxString));
      KEEL_RETURN_IF_ERROR(store.create_bucket(bucket));
      in_bucket = true;
    } else if (tag[0] == kPair && in_bucket) {
      std::string key, value;
      KEEL_RETURN_IF_ERROR(r.bytes(&key, kMaxString));
      KEEL_RETURN_IF_ERROR(r.bytes(&value, kMaxString));
      batch.put(bucket, key, value);
      ++pairs;
      if (batch.approximate_bytes() >= kBatchBytes) {
        KEEL_RETURN_IF_ERROR(store.commit(batch, false));
        batch.clear();
      }
    } else if (tag[0] == kEnd) {
      break;
    } else {
      return Status::Corruption("the snapshot stream holds an unknown record");
    }
  }
  Result<uint64_t> count = r.u64();
  if (!count.ok()) return count.status();
  const uint32_t crc = r.crc();
  Result<uint32_t> want = r.u32();
  if (!want.ok()) return want.status();
  if (*count != pairs || *want != crc) {
    return Status::Corruption("the snapshot stream is damaged (its count or checksum does not match)");
  }
  if (!r.at_end()) return Status::Corruption("the snapshot stream goes on after its end");
  // The last commit syncs: the store is on disk before Raft hears of it.
  return store.commit(batch, true);
}

std::string received_backend_dir(const std::string& snap_dir, uint64_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx", static_cast<unsigned long long>(index));
  return snap_dir + "/" + name + kReceivedSuffix;
}

Status receive_backend(BackendPlugin& engine, const std::string& snap_dir, uint64_t index, ByteSource& stream) {
  const std::string final_dir = received_backend_dir(snap_dir, index);
  const std::string partial = final_dir.substr(0, final_dir.size() - std::strlen(kReceivedSuffix)) + kPartialSuffix;
  KEEL_RETURN_IF_ERROR(remove_tree(partial));
  Status filled = [&]() -> Status {
    BackendOptions options;
    options.dir = partial;
    Result<std::unique_ptr<Backend>> store = engine.open(options);
    if (!store.ok()) return store.status();
    Status s = read_store_stream(stream, **store);
    Status closed = (*store)->close();
    return s.ok() ? closed : s;
  }();
  if (!filled.ok()) {
    (void)remove_tree(partial);
    return filled.with_context("receiving the leader's snapshot");
  }
  KEEL_RETURN_IF_ERROR(remove_tree(final_dir));
  std::error_code ec;
  fs::rename(partial, final_dir, ec);
  if (ec) return io_error("rename " + partial, ec);
  return sync_parent(final_dir);
}

Status remove_received_backends(const std::string& snap_dir, uint64_t up_to) {
  std::error_code ec;
  for (fs::directory_iterator it(snap_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    bool remove = name.ends_with(kPartialSuffix);
    if (name.size() == 16 + std::strlen(kReceivedSuffix) && name.ends_with(kReceivedSuffix)) {
      const std::string hex = name.substr(0, 16);
      if (hex.find_first_not_of("0123456789abcdef") == std::string::npos) {
        remove = std::stoull(hex, nullptr, 16) <= up_to;
      }
    }
    if (remove) KEEL_RETURN_IF_ERROR(remove_tree(it->path()));
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return io_error("listing " + snap_dir, ec);
  return Status::OK();
}

Status install_backend(const std::string& received, const std::string& db_dir) {
  const std::string aside = db_dir + ".replaced";
  KEEL_RETURN_IF_ERROR(remove_tree(aside));
  std::error_code ec;
  if (fs::exists(db_dir, ec)) {
    fs::rename(db_dir, aside, ec);
    if (ec) return io_error("rename " + db_dir, ec);
  }
  fs::rename(received, db_dir, ec);
  if (ec) return io_error("rename " + received, ec);
  KEEL_RETURN_IF_ERROR(sync_parent(db_dir));
  KEEL_RETURN_IF_ERROR(sync_parent(received));
  return remove_tree(aside);
}

Status finish_install(const std::string& db_dir) { return remove_tree(db_dir + ".replaced"); }

Result<std::unique_ptr<ByteSource>> copy_to_file(const std::string& path,
                                                 const std::function<Status(ByteSink&)>& copy) {
  wal::FileSystem& fs = wal::posix_file_system();
  if (fs.exists(path)) KEEL_RETURN_IF_ERROR(fs.remove(path));  // left by a crash mid-copy
  Status s = [&]() -> Status {
    Result<std::unique_ptr<wal::WritableFile>> file = fs.create(path, 0);
    if (!file.ok()) return file.status();
    FileSink sink(**file);
    Status copied = copy(sink);
    Status closed = (*file)->close();
    return copied.ok() ? closed : copied;
  }();
  Result<std::unique_ptr<wal::SequentialFile>> reader =
      s.ok() ? fs.open_sequential(path) : Result<std::unique_ptr<wal::SequentialFile>>(s);
  // Unlinked at once: the file goes with the stream, whatever happens next.
  (void)fs.remove(path);
  if (!reader.ok()) return reader.status();
  return std::unique_ptr<ByteSource>(new FileSource(std::move(reader).value()));
}

}  // namespace keel::server
