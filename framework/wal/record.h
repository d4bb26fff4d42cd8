// The WAL's records: how each is framed on disk and what its payload holds. docs/format/wal.md
// is the reference for both.
//
//   offset 0   u32  header CRC: masked CRC-32C of bytes 4..8 (length and type)
//   offset 4   u32  payload length
//   offset 8   u8   type (1 metadata, 2 hard state, 3 entry, 4 snapshot marker; 0 never)
//   offset 9   u32  payload CRC: masked CRC-32C of the payload
//   offset 13  the payload
//
// All integers are little-endian. The header has its own CRC so a damaged length is never
// trusted; a header of 13 zero bytes is where the written part of a preallocated segment ends.
#ifndef KEEL_WAL_RECORD_H_
#define KEEL_WAL_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/status.h"
#include "raft/messages.h"

namespace keel::wal {

inline constexpr size_t kRecordHeaderSize = 13;
// No payload is larger: keel's entries are at most a few MiB; a bigger length is damage.
inline constexpr uint32_t kMaxRecordPayload = 64u << 20;

enum class RecordType : uint8_t {
  kMetadata = 1,
  kHardState = 2,
  kEntry = 3,
  kSnapshotMarker = 4,
};

struct WalMetadata {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  friend bool operator==(const WalMetadata&, const WalMetadata&) = default;
};

// A snapshot was saved at (index, term): entries up to index are in it. A leader's snapshot
// replaces the whole log (Raft drops a follower's log that does not hold (index, term)), so the
// entries written before its marker, at any index, are gone on replay too.
struct SnapshotMarker {
  uint64_t index = 0;
  uint64_t term = 0;
  bool replaces_log = false;
  friend bool operator==(const SnapshotMarker&, const SnapshotMarker&) = default;
};

// Appends a framed record to *out.
void append_record(RecordType type, std::string_view payload, std::string* out);

std::string encode_metadata(const WalMetadata& m);
std::string encode_hard_state(const raft::HardState& hs);
std::string encode_entry(const raft::Entry& e);
std::string encode_snapshot_marker(const SnapshotMarker& s);

// Payload decoders: Corruption for a payload of the wrong size or content.
Result<WalMetadata> decode_metadata(std::string_view payload);
Result<raft::HardState> decode_hard_state(std::string_view payload);
Result<raft::Entry> decode_entry(std::string_view payload);
Result<SnapshotMarker> decode_snapshot_marker(std::string_view payload);

// What stands at one offset of a segment.
struct RecordRead {
  enum class Kind {
    kRecord,  // a whole, valid record: type, payload, size (header included)
    kEnd,     // a zero header, or the end of the file exactly
    kBad,     // damaged or cut short: `reason` says how; `torn` whether it looks torn (below)
  };
  Kind kind = Kind::kEnd;
  RecordType type = RecordType::kMetadata;
  std::string_view payload;
  size_t size = 0;
  std::string reason;
  // A write cut short by a crash leaves a whole disk sector of the record unwritten (zeros), or
  // zeros from a sector boundary to the record's end, or stops at the end of the file; a flipped
  // bit does none of these. True when the bad record shows such a sign. (The WAL also requires
  // that no whole record follows before it calls a record a torn tail.)
  bool torn = false;
};

// Reads the record at `offset` of `segment`. REQUIRES: offset <= segment.size().
RecordRead read_record(std::string_view segment, size_t offset);

}  // namespace keel::wal

#endif  // KEEL_WAL_RECORD_H_
