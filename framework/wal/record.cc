#include "wal/record.h"

#include <cstring>

#include "wal/coding.h"
#include "wal/crc32c.h"

namespace keel::wal {
namespace {

constexpr size_t kSector = 512;

bool all_zero(std::string_view s) {
  for (char c : s) {
    if (c != 0) return false;
  }
  return true;
}

// Whether [begin, end) shows the mark a crash leaves mid-write: a whole 512-byte disk sector of
// zeros inside it (a sector never written), or zeros from a sector boundary to its end (the write
// stopped there). A flipped bit leaves neither.
bool looks_torn(std::string_view segment, size_t begin, size_t end) {
  for (size_t s = (begin + kSector - 1) / kSector * kSector; s + kSector <= end; s += kSector) {
    if (all_zero(segment.substr(s, kSector))) return true;
  }
  size_t last_boundary = (end - 1) / kSector * kSector;
  return last_boundary > begin && all_zero(segment.substr(last_boundary, end - last_boundary));
}

Status bad_payload(const char* what, size_t size) {
  return Status::Corruption(std::string("bad ") + what + " payload of " + std::to_string(size) + " bytes");
}

}  // namespace

void append_record(RecordType type, std::string_view payload, std::string* out) {
  std::string header_fields;
  put32(&header_fields, static_cast<uint32_t>(payload.size()));
  header_fields.push_back(static_cast<char>(type));
  put32(out, crc32c_mask(crc32c(header_fields)));
  out->append(header_fields);
  put32(out, crc32c_mask(crc32c(payload)));
  out->append(payload);
}

std::string encode_metadata(const WalMetadata& m) {
  std::string s;
  put64(&s, m.member_id);
  put64(&s, m.cluster_id);
  return s;
}

std::string encode_hard_state(const raft::HardState& hs) {
  std::string s;
  put64(&s, hs.term);
  put64(&s, hs.vote);
  put64(&s, hs.commit);
  return s;
}

std::string encode_entry(const raft::Entry& e) {
  std::string s;
  s.reserve(17 + e.data.size());
  put64(&s, e.term);
  put64(&s, e.index);
  s.push_back(static_cast<char>(e.type));
  s.append(e.data);
  return s;
}

std::string encode_snapshot_marker(const SnapshotMarker& m) {
  std::string s;
  put64(&s, m.index);
  put64(&s, m.term);
  if (m.replaces_log) s.push_back('\x01');
  return s;
}

Result<WalMetadata> decode_metadata(std::string_view p) {
  if (p.size() != 16) return bad_payload("metadata", p.size());
  return WalMetadata{get64(p.data()), get64(p.data() + 8)};
}

Result<raft::HardState> decode_hard_state(std::string_view p) {
  if (p.size() != 24) return bad_payload("hard state", p.size());
  raft::HardState hs;
  hs.term = get64(p.data());
  hs.vote = get64(p.data() + 8);
  hs.commit = get64(p.data() + 16);
  return hs;
}

Result<raft::Entry> decode_entry(std::string_view p) {
  if (p.size() < 17) return bad_payload("entry", p.size());
  raft::Entry e;
  e.term = get64(p.data());
  e.index = get64(p.data() + 8);
  uint8_t type = static_cast<uint8_t>(p[16]);
  if (type > static_cast<uint8_t>(raft::EntryType::kConfChange)) {
    return Status::Corruption("entry " + std::to_string(e.index) + " has unknown type " + std::to_string(type));
  }
  e.type = static_cast<raft::EntryType>(type);
  e.data = std::string(p.substr(17));
  return e;
}

Result<SnapshotMarker> decode_snapshot_marker(std::string_view p) {
  // 16 bytes: a member's own snapshot; 17 with a last byte 1: a leader's, which replaces the log.
  if (p.size() != 16 && !(p.size() == 17 && p[16] == '\x01')) return bad_payload("snapshot marker", p.size());
  return SnapshotMarker{get64(p.data()), get64(p.data() + 8), p.size() == 17};
}

RecordRead read_record(std::string_view segment, size_t offset) {
  RecordRead r;
  size_t left = segment.size() - offset;
  if (left == 0) return r;  // kEnd
  const char* h = segment.data() + offset;
  if (left < kRecordHeaderSize) {
    if (all_zero(segment.substr(offset))) return r;
    r.kind = RecordRead::Kind::kBad;
    r.reason = "the file ends inside a record header";
    r.torn = true;
    return r;
  }
  if (all_zero(std::string_view(h, kRecordHeaderSize))) return r;

  r.kind = RecordRead::Kind::kBad;
  uint32_t length = get32(h + 4);
  uint8_t type = static_cast<uint8_t>(h[8]);
  if (crc32c_unmask(get32(h)) != crc32c(std::string_view(h + 4, 5))) {
    r.reason = "header checksum mismatch";
    r.torn = looks_torn(segment, offset, offset + kRecordHeaderSize);
    return r;
  }
  if (type < 1 || type > 4) {
    r.reason = "unknown record type " + std::to_string(type);
    return r;
  }
  if (length > kMaxRecordPayload) {
    r.reason = "payload length " + std::to_string(length) + " exceeds the limit";
    return r;
  }
  if (left < kRecordHeaderSize + length) {
    r.reason = "the file ends inside the record's payload";
    r.torn = true;
    return r;
  }
  std::string_view payload(h + kRecordHeaderSize, length);
  if (crc32c_unmask(get32(h + 9)) != crc32c(payload)) {
    r.reason = "payload checksum mismatch";
    r.torn = looks_torn(segment, offset, offset + kRecordHeaderSize + length);
    return r;
  }
  r.kind = RecordRead::Kind::kRecord;
  r.type = static_cast<RecordType>(type);
  r.payload = payload;
  r.size = kRecordHeaderSize + length;
  return r;
}

}  // namespace keel::wal
