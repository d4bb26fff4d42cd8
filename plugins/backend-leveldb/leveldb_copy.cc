#include "leveldb_copy.h"

#include <leveldb/write_batch.h>

#include <boost/crc.hpp>
#include <cstring>
#include <filesystem>
#include <vector>

#include "keel/engine_marker.h"
#include "leveldb_keys.h"

namespace keel::backend_leveldb {

namespace {

constexpr char kMagic[] = "KEELLVDB";
constexpr uint32_t kCopyFormat = 1;
constexpr uint32_t kEndMark = 0xFFFFFFFF;
constexpr size_t kChunk = 1 << 20;

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

template <typename F>
Status guarded_copy(F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("leveldb: copy_to: ") + e.what());
  }
}

uint32_t crc_of(const char* p, size_t n) {
  boost::crc_32_type crc;
  crc.process_bytes(p, n);
  return crc.checksum();
}

// Reads exact byte counts from a ByteSource.
class Reader {
 public:
  explicit Reader(ByteSource& in) : in_(in) {}
  // OK and `n` bytes appended to *out, or Corruption if the stream ends first.
  Status read(size_t n, std::string* out) {
    size_t start = out->size();
    out->resize(start + n);
    size_t got = 0;
    while (got < n) {
      auto r = in_.read(out->data() + start + got, n - got);
      if (!r.ok()) return r.status();
      if (*r == 0) return Status::Corruption("restore: the leveldb copy is cut short");
      got += *r;
    }
    return Status::OK();
  }

 private:
  ByteSource& in_;
};

Status restore_into(const std::string& dir, leveldb::DB* db, ByteSource& copy) {
  Reader in(copy);
  std::string header;
  KEEL_RETURN_IF_ERROR(in.read(16, &header).ok()
                           ? Status::OK()
                           : Status::Corruption("restore: the stream is not a leveldb copy"));
  if (header.compare(0, 8, kMagic) != 0) {
    return Status::Corruption("restore: the stream is not a leveldb backend copy");
  }
  if (read_le<uint32_t>(header.data() + 8) > kCopyFormat) {
    return Status::FailedPrecondition("restore: leveldb copy format " +
                                      std::to_string(read_le<uint32_t>(header.data() + 8)) +
                                      " is newer than this backend reads");
  }
  leveldb::WriteBatch wb;
  uint64_t count = 0;
  std::string rec;
  for (;;) {
    rec.clear();
    KEEL_RETURN_IF_ERROR(in.read(8, &rec));
    uint32_t key_size = read_le<uint32_t>(rec.data());
    uint32_t value_size = read_le<uint32_t>(rec.data() + 4);
    if (key_size == kEndMark) {
      KEEL_RETURN_IF_ERROR(in.read(12, &rec));
      if (read_le<uint32_t>(rec.data() + 16) != crc_of(rec.data(), 16) ||
          read_le<uint64_t>(rec.data() + 8) != count) {
        return Status::Corruption("restore: the leveldb copy's end record does not match");
      }
      char extra;
      auto more = copy.read(&extra, 1);
      if (!more.ok()) return more.status();
      if (*more != 0) return Status::Corruption("restore: bytes after the leveldb copy's end");
      break;
    }
    if (key_size == 0 || key_size > (64u << 20) || value_size > (64u << 20)) {
      return Status::Corruption("restore: bad record sizes in the leveldb copy");
    }
    KEEL_RETURN_IF_ERROR(in.read(size_t{key_size} + value_size + 4, &rec));
    size_t body = 8 + size_t{key_size} + value_size;
    if (read_le<uint32_t>(rec.data() + body) != crc_of(rec.data(), body)) {
      return Status::Corruption("restore: a record of the leveldb copy fails its CRC");
    }
    char tag = rec[8];
    if (tag != kRegistryTag && tag != kDataTag) {
      return Status::Corruption("restore: a record of the leveldb copy has an unknown key");
    }
    wb.Put(leveldb::Slice(rec.data() + 8, key_size),
           leveldb::Slice(rec.data() + 8 + key_size, value_size));
    ++count;
    if (wb.ApproximateSize() >= 4 * kChunk) {
      KEEL_RETURN_IF_ERROR(leveldb_status(db->Write(leveldb::WriteOptions(), &wb), "restore"));
      wb.Clear();
    }
  }
  leveldb::WriteOptions wo;
  wo.sync = true;
  return leveldb_status(db->Write(wo, &wb), "restore " + dir);
}

}  // namespace

Status LeveldbStore::copy_to(ByteSink& out) {
  return guarded_copy([&]() -> Status {
    std::shared_lock<std::shared_mutex> state(state_mu_);
    if (closed_.load()) return Status::FailedPrecondition("leveldb: the store is closed");
    const leveldb::Snapshot* snapshot = db_->GetSnapshot();
    struct Release {
      leveldb::DB* db;
      const leveldb::Snapshot* s;
      ~Release() { db->ReleaseSnapshot(s); }
    } release{db_.get(), snapshot};
    leveldb::ReadOptions ro;
    ro.verify_checksums = true;
    ro.snapshot = snapshot;
    ro.fill_cache = false;  // a copy reads everything once
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(ro));
    std::string chunk(kMagic, 8);
    append_le<uint32_t>(&chunk, kCopyFormat);
    append_le<uint32_t>(&chunk, 0);
    uint64_t count = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      size_t start = chunk.size();
      append_le<uint32_t>(&chunk, static_cast<uint32_t>(it->key().size()));
      append_le<uint32_t>(&chunk, static_cast<uint32_t>(it->value().size()));
      chunk.append(it->key().data(), it->key().size());
      chunk.append(it->value().data(), it->value().size());
      append_le<uint32_t>(&chunk, crc_of(chunk.data() + start, chunk.size() - start));
      ++count;
      if (chunk.size() >= kChunk) {
        KEEL_RETURN_IF_ERROR(out.write(chunk));
        chunk.clear();
      }
    }
    KEEL_RETURN_IF_ERROR(leveldb_status(it->status(), "copy"));
    size_t start = chunk.size();
    append_le<uint32_t>(&chunk, kEndMark);
    append_le<uint32_t>(&chunk, 0);
    append_le<uint64_t>(&chunk, count);
    append_le<uint32_t>(&chunk, crc_of(chunk.data() + start, 16));
    return out.write(chunk);
  });
}

Status restore_leveldb(const BackendOptions& options, ByteSource& copy,
                       const LeveldbSettings& settings, Logger& logger) {
  try {
    namespace fs = std::filesystem;
    const std::string& dir = options.dir;
    std::error_code ec;
    KEEL_RETURN_IF_ERROR(prepare_restore_dir(dir, kEngineName));
    // A "creating" marker first: a crash from here on leaves a dir the next restore clears.
    KEEL_RETURN_IF_ERROR(write_marker(dir, EngineMarker{kEngineName, kFormatVersion, false}));
    std::unique_ptr<leveldb::Cache> cache(leveldb::NewLRUCache(8 << 20));
    Status s;
    {
      auto db = LeveldbStore::open_db(dir, settings, cache.get(), true);
      if (!db.ok()) return db.status();
      s = restore_into(dir, db->get(), copy);
    }
    // The marker is complete last; a failed restore leaves the dir empty.
    if (s.ok()) s = write_marker(dir, EngineMarker{kEngineName, kFormatVersion, true});
    if (!s.ok()) {
      for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
      logger.warn("leveldb: restore into " + dir + " failed: " + s.to_string());
    }
    return s;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("leveldb: restore: ") + e.what());
  }
}

}  // namespace keel::backend_leveldb
