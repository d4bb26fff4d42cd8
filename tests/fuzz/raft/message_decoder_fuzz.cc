// libFuzzer target: the Raft message decoder (framework/raft/codec.h) on arbitrary bytes.
// It must never crash or over-read (ASan), and whatever decodes must re-encode to the same
// bytes (the encoding is canonical). Conf changes, entries, hard states and snapshot metadata
// are fed the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "raft/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::raft;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto m = DecodeMessage(in); m.ok()) {
    if (EncodeMessage(*m) != in) std::abort();
  } else if (!m.status().is_corruption()) {
    std::abort();
  }
  if (auto cc = DecodeConfChange(in); cc.ok() && EncodeConfChange(*cc) != in) std::abort();
  if (auto e = DecodeEntry(in); e.ok() && EncodeEntry(*e) != in) std::abort();
  if (auto hs = DecodeHardState(in); hs.ok() && EncodeHardState(*hs) != in) std::abort();
  if (auto md = DecodeSnapshotMetadata(in); md.ok() && EncodeSnapshotMetadata(*md) != in) {
    std::abort();
  }
  return 0;
}
