// The binary encoding of Raft's values: messages cross the Transport as these bytes, and
// configuration changes travel inside log entries. The format is keel's own, hand-written and
// stable; docs/format/raft-messages.md is its specification.
//
// Decoders check every length against the input, accept only the canonical encoding (so that
// Encode(Decode(b)) == b), and return Status::Corruption for anything malformed — never read
// past the input, never abort, never allocate more than the input could describe.
//
// Thread safety: pure functions.
#ifndef KEEL_RAFT_CODEC_H_
#define KEEL_RAFT_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/status.h"
#include "raft/messages.h"

namespace keel::raft {

// The version byte every encoded value starts with.
inline constexpr uint8_t kCodecVersion = 1;

std::string EncodeMessage(const Message& m);
Result<Message> DecodeMessage(std::string_view in);

std::string EncodeConfChange(const ConfChange& cc);
Result<ConfChange> DecodeConfChange(std::string_view in);

// For the WAL: an entry, the hard state, and a snapshot's metadata, each self-contained.
std::string EncodeEntry(const Entry& e);
Result<Entry> DecodeEntry(std::string_view in);
std::string EncodeHardState(const HardState& hs);
Result<HardState> DecodeHardState(std::string_view in);
std::string EncodeSnapshotMetadata(const SnapshotMetadata& md);
Result<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view in);

// The primitives, exposed for tests and for keel's other binary formats: LEB128 varints.
void PutVarint64(std::string* dst, uint64_t v);
// Reads a canonical varint from the front of *in and advances it. Returns false if malformed.
bool GetVarint64(std::string_view* in, uint64_t* v);
// `bytes`: a varint length, then the bytes. Other kernel formats (peer frames, member records)
// use the same. GetBytes returns false if the length runs past the input.
void PutBytes(std::string* dst, std::string_view b);
bool GetBytes(std::string_view* in, std::string* v);

}  // namespace keel::raft

#endif  // KEEL_RAFT_CODEC_H_
