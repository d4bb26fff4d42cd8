#include "wal/snapshot_file.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "wal/coding.h"
#include "wal/crc32c.h"

namespace keel::wal {
namespace {

constexpr char kMagic[8] = {'K', 'E', 'E', 'L', 'S', 'N', 'A', 'P'};
constexpr uint32_t kVersion = 1;
constexpr size_t kChunk = 1 << 20;
constexpr uint32_t kMaxChunk = 16u << 20;
constexpr uint32_t kMaxMeta = 16u << 20;
constexpr const char* kSuffix = ".snap";

struct SnapName {
  uint64_t term;
  uint64_t index;
  std::string name;
};

bool parse_name(const std::string& name, SnapName* out) {
  if (name.size() != 38 || name.compare(33, 5, kSuffix) != 0 || name[16] != '-') return false;
  for (size_t i = 0; i < 33; ++i) {
    char c = name[i];
    if (i != 16 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  *out = SnapName{std::stoull(name.substr(0, 16), nullptr, 16), std::stoull(name.substr(17, 16), nullptr, 16), name};
  return true;
}

std::string encode_meta(const raft::SnapshotMetadata& m, const std::string& engine) {
  std::string s;
  put64(&s, m.index);
  put64(&s, m.term);
  for (const auto* ids : {&m.conf_state.voters, &m.conf_state.learners}) {
    put32(&s, static_cast<uint32_t>(ids->size()));
    for (uint64_t id : *ids) put64(&s, id);
  }
  put32(&s, static_cast<uint32_t>(engine.size()));
  s += engine;
  return s;
}

Status decode_meta(std::string_view s, SnapshotFileInfo* info) {
  auto need = [&](size_t n) { return s.size() >= n; };
  if (!need(16)) return Status::Corruption("snapshot metadata is too short");
  info->metadata.index = get64(s.data());
  info->metadata.term = get64(s.data() + 8);
  s.remove_prefix(16);
  for (auto* ids : {&info->metadata.conf_state.voters, &info->metadata.conf_state.learners}) {
    if (!need(4)) return Status::Corruption("snapshot metadata is too short");
    uint32_t n = get32(s.data());
    s.remove_prefix(4);
    if (s.size() / 8 < n) return Status::Corruption("snapshot metadata lists more members than it holds");
    for (uint32_t i = 0; i < n; ++i, s.remove_prefix(8)) ids->push_back(get64(s.data()));
  }
  if (!need(4)) return Status::Corruption("snapshot metadata is too short");
  uint32_t len = get32(s.data());
  s.remove_prefix(4);
  if (s.size() != len) return Status::Corruption("snapshot metadata has a bad engine name");
  info->engine = std::string(s);
  return Status::OK();
}

// Reads exactly n bytes, or says where the file ended.
Status read_exactly(SequentialFile& f, const std::string& path, uint64_t* offset, size_t n, std::string* out) {
  out->resize(n);
  size_t got = 0;
  while (got < n) {
    Result<size_t> r = f.read(out->data() + got, n - got);
    if (!r.ok()) return r.status();
    if (*r == 0) {
      return Status::Corruption("snapshot file " + path + " is cut short at offset " + std::to_string(*offset + got));
    }
    got += *r;
  }
  *offset += n;
  return Status::OK();
}

Result<SnapshotFileInfo> read_header(SequentialFile& f, const std::string& path, uint64_t* offset) {
  std::string fixed;
  KEEL_RETURN_IF_ERROR(read_exactly(f, path, offset, 16, &fixed));
  if (fixed.compare(0, 8, std::string(kMagic, 8)) != 0) {
    return Status::Corruption(path + " is not a keel snapshot file");
  }
  uint32_t version = get32(fixed.data() + 8);
  if (version != kVersion) {
    return Status::Corruption("snapshot file " + path + " has format version " + std::to_string(version) +
                              "; this keel reads version " + std::to_string(kVersion));
  }
  uint32_t meta_len = get32(fixed.data() + 12);
  if (meta_len > kMaxMeta) return Status::Corruption("snapshot file " + path + " has a damaged header");
  std::string meta, crc;
  KEEL_RETURN_IF_ERROR(read_exactly(f, path, offset, meta_len, &meta));
  KEEL_RETURN_IF_ERROR(read_exactly(f, path, offset, 4, &crc));
  if (crc32c_unmask(get32(crc.data())) != crc32c(meta)) {
    return Status::Corruption("snapshot file " + path + " has a damaged header (checksum mismatch)");
  }
  SnapshotFileInfo info;
  info.path = path;
  Status s = decode_meta(meta, &info);
  if (!s.ok()) return s.with_context("snapshot file " + path);
  return info;
}

Result<std::vector<SnapName>> snapshot_files(FileSystem& fs, const std::string& dir) {
  Result<std::vector<std::string>> names = fs.list(dir);
  if (!names.ok()) return names.status();
  std::vector<SnapName> snaps;
  for (const auto& n : *names) {
    SnapName s;
    if (parse_name(n, &s)) snaps.push_back(s);
  }
  std::sort(snaps.begin(), snaps.end(), [](const SnapName& a, const SnapName& b) {
    return a.index != b.index ? a.index < b.index : a.term < b.term;
  });
  return snaps;
}

class DiscardSink : public ByteSink {
 public:
  Status write(std::string_view) override { return Status::OK(); }
};

}  // namespace

Result<std::string> write_snapshot_file(FileSystem& fs, const std::string& dir,
                                        const raft::SnapshotMetadata& metadata, const std::string& engine,
                                        ByteSource& data) {
  char name[64];
  std::snprintf(name, sizeof name, "%016" PRIx64 "-%016" PRIx64 "%s", metadata.term, metadata.index, kSuffix);
  const std::string path = dir + "/" + name;
  const std::string temp = path + ".tmp";
  KEEL_RETURN_IF_ERROR(fs.create_dirs(dir));
  if (fs.exists(temp)) KEEL_RETURN_IF_ERROR(fs.remove(temp));
  Result<std::unique_ptr<WritableFile>> file = fs.create(temp, 0);
  if (!file.ok()) return file.status();
  WritableFile& out = **file;

  auto write_all = [&]() -> Status {
    std::string head(kMagic, 8);
    put32(&head, kVersion);
    std::string meta = encode_meta(metadata, engine);
    put32(&head, static_cast<uint32_t>(meta.size()));
    head += meta;
    put32(&head, crc32c_mask(crc32c(meta)));
    KEEL_RETURN_IF_ERROR(out.append(head));
    std::string buf(kChunk, '\0');
    uint64_t total = 0;
    uint32_t total_crc = 0;
    for (;;) {
      Result<size_t> n = data.read(buf.data(), buf.size());
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      std::string_view chunk(buf.data(), *n);
      std::string frame;
      put32(&frame, static_cast<uint32_t>(chunk.size()));
      KEEL_RETURN_IF_ERROR(out.append(frame));
      KEEL_RETURN_IF_ERROR(out.append(chunk));
      frame.clear();
      put32(&frame, crc32c_mask(crc32c(chunk)));
      KEEL_RETURN_IF_ERROR(out.append(frame));
      total += chunk.size();
      total_crc = crc32c_extend(total_crc, chunk);
    }
    std::string trailer;
    put32(&trailer, 0);
    put64(&trailer, total);
    put32(&trailer, crc32c_mask(total_crc));
    KEEL_RETURN_IF_ERROR(out.append(trailer));
    KEEL_RETURN_IF_ERROR(out.sync());
    KEEL_RETURN_IF_ERROR(out.close());
    KEEL_RETURN_IF_ERROR(fs.rename(temp, path));
    return fs.sync_dir(dir);
  };
  Status s = write_all();
  if (!s.ok()) {
    out.close();
    if (fs.exists(temp)) fs.remove(temp);
    return s;
  }
  return path;
}

Result<SnapshotFileInfo> read_snapshot_info(FileSystem& fs, const std::string& path) {
  Result<std::unique_ptr<SequentialFile>> f = fs.open_sequential(path);
  if (!f.ok()) return f.status();
  uint64_t offset = 0;
  return read_header(**f, path, &offset);
}

Status read_snapshot_data(FileSystem& fs, const std::string& path, ByteSink& out) {
  Result<std::unique_ptr<SequentialFile>> opened = fs.open_sequential(path);
  if (!opened.ok()) return opened.status();
  SequentialFile& f = **opened;
  uint64_t offset = 0;
  Result<SnapshotFileInfo> header = read_header(f, path, &offset);
  if (!header.ok()) return header.status();
  uint64_t total = 0;
  uint32_t total_crc = 0;
  std::string word, chunk;
  for (;;) {
    uint64_t at = offset;
    KEEL_RETURN_IF_ERROR(read_exactly(f, path, &offset, 4, &word));
    uint32_t len = get32(word.data());
    if (len == 0) break;
    if (len > kMaxChunk) {
      return Status::Corruption("snapshot file " + path + " has a damaged chunk at offset " + std::to_string(at));
    }
    KEEL_RETURN_IF_ERROR(read_exactly(f, path, &offset, len, &chunk));
    KEEL_RETURN_IF_ERROR(read_exactly(f, path, &offset, 4, &word));
    if (crc32c_unmask(get32(word.data())) != crc32c(chunk)) {
      return Status::Corruption("snapshot file " + path + " has a damaged chunk at offset " + std::to_string(at) +
                                " (checksum mismatch)");
    }
    total += len;
    total_crc = crc32c_extend(total_crc, chunk);
    KEEL_RETURN_IF_ERROR(out.write(chunk));
  }
  std::string trailer;
  KEEL_RETURN_IF_ERROR(read_exactly(f, path, &offset, 12, &trailer));
  if (get64(trailer.data()) != total || crc32c_unmask(get32(trailer.data() + 8)) != total_crc) {
    return Status::Corruption("snapshot file " + path + " has a damaged trailer");
  }
  char extra;
  Result<size_t> more = f.read(&extra, 1);
  if (!more.ok()) return more.status();
  if (*more != 0) return Status::Corruption("snapshot file " + path + " has bytes after its trailer");
  return Status::OK();
}

Result<std::optional<SnapshotFileInfo>> newest_valid_snapshot(FileSystem& fs, const std::string& dir,
                                                              Logger* logger, uint64_t max_index) {
  if (!fs.exists(dir)) return std::optional<SnapshotFileInfo>();
  Result<std::vector<SnapName>> listed = snapshot_files(fs, dir);
  if (!listed.ok()) return listed.status();
  std::vector<SnapName> snaps(listed->rbegin(), listed->rend());  // newest first
  for (const auto& s : snaps) {
    if (s.index > max_index) continue;
    const std::string path = dir + "/" + s.name;
    DiscardSink discard;
    Status valid = read_snapshot_data(fs, path, discard);
    if (valid.ok()) {
      Result<SnapshotFileInfo> info = read_snapshot_info(fs, path);
      if (!info.ok()) return info.status();
      return std::optional<SnapshotFileInfo>(std::move(info).value());
    }
    if (!valid.is_corruption()) return valid;
    if (logger != nullptr) logger->warn(valid.message() + "; renamed to " + s.name + ".broken, trying an older one");
    KEEL_RETURN_IF_ERROR(fs.rename(path, path + ".broken"));
  }
  return std::optional<SnapshotFileInfo>();
}


Status purge_snapshot_files(FileSystem& fs, const std::string& dir, size_t keep, uint64_t max_index) {
  if (keep == 0) return Status::OK();
  Result<std::vector<SnapName>> snaps = snapshot_files(fs, dir);
  if (!snaps.ok()) return snaps.status();
  std::vector<SnapName> marked;
  for (const auto& s : *snaps) {
    if (s.index <= max_index) marked.push_back(s);
  }
  bool removed = false;
  for (size_t i = 0; i + keep < marked.size(); ++i) {
    KEEL_RETURN_IF_ERROR(fs.remove(dir + "/" + marked[i].name));
    removed = true;
  }
  return removed ? fs.sync_dir(dir) : Status::OK();
}

Status remove_snapshot_files_above(FileSystem& fs, const std::string& dir, uint64_t index) {
  Result<std::vector<SnapName>> snaps = snapshot_files(fs, dir);
  if (!snaps.ok()) return snaps.status();
  bool removed = false;
  for (const auto& s : *snaps) {
    if (s.index <= index) continue;
    KEEL_RETURN_IF_ERROR(fs.remove(dir + "/" + s.name));
    removed = true;
  }
  return removed ? fs.sync_dir(dir) : Status::OK();
}

}  // namespace keel::wal
