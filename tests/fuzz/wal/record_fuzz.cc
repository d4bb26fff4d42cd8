// libFuzzer: any bytes as a WAL segment. Reading must never crash or read out of bounds, and what
// reads as valid records must encode back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "wal/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::wal;
  std::string_view segment(reinterpret_cast<const char*>(data), size);
  size_t offset = 0;
  while (offset <= segment.size()) {
    RecordRead r = read_record(segment, offset);
    if (r.kind != RecordRead::Kind::kRecord) break;
    std::string again;
    append_record(r.type, r.payload, &again);
    if (again != segment.substr(offset, r.size)) std::abort();
    switch (r.type) {
      case RecordType::kMetadata: (void)decode_metadata(r.payload); break;
      case RecordType::kHardState: (void)decode_hard_state(r.payload); break;
      case RecordType::kSnapshotMarker: (void)decode_snapshot_marker(r.payload); break;
      case RecordType::kEntry: {
        auto e = decode_entry(r.payload);
        if (e.ok() && encode_entry(*e) != r.payload) std::abort();
        break;
      }
    }
    offset += r.size;
  }
  return 0;
}
