#include "raft/codec.h"

namespace keel::raft {

namespace {

constexpr uint8_t kFlagReject = 1 << 0;
constexpr uint8_t kFlagSnapshot = 1 << 1;
constexpr uint8_t kKnownFlags = kFlagReject | kFlagSnapshot;
// The smallest encodings, which bound how many items a count may claim.
constexpr size_t kMinEntryBytes = 4;  // type, term, index, data length

void PutEntryBody(std::string* dst, const Entry& e) {
  dst->push_back(static_cast<char>(e.type));
  PutVarint64(dst, e.term);
  PutVarint64(dst, e.index);
  PutBytes(dst, e.data);
}

void PutIds(std::string* dst, const std::vector<NodeId>& ids) {
  PutVarint64(dst, ids.size());
  for (NodeId id : ids) PutVarint64(dst, id);
}

void PutSnapshotMetadataBody(std::string* dst, const SnapshotMetadata& md) {
  PutVarint64(dst, md.index);
  PutVarint64(dst, md.term);
  PutIds(dst, md.conf_state.voters);
  PutIds(dst, md.conf_state.learners);
}

Status Malformed(const char* what) {
  return Status::Corruption(std::string("raft codec: malformed ") + what);
}

// A cursor over the input that never reads past its end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool u8(uint8_t* v) {
    if (in_.empty()) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool varint(uint64_t* v) { return GetVarint64(&in_, v); }
  bool bytes(std::string* out) {
    uint64_t n;
    if (!varint(&n) || n > in_.size()) return false;
    out->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool ids(std::vector<NodeId>* out) {
    uint64_t n;
    if (!varint(&n) || n > in_.size()) return false;  // each id takes at least one byte
    out->clear();
    out->reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t id;
      if (!varint(&id)) return false;
      out->push_back(id);
    }
    return true;
  }
  bool entry_body(Entry* e) {
    uint8_t type;
    if (!u8(&type) || type > static_cast<uint8_t>(EntryType::kConfChange)) return false;
    e->type = static_cast<EntryType>(type);
    return varint(&e->term) && varint(&e->index) && bytes(&e->data);
  }
  bool snapshot_metadata_body(SnapshotMetadata* md) {
    return varint(&md->index) && varint(&md->term) && ids(&md->conf_state.voters) &&
           ids(&md->conf_state.learners);
  }
  bool version() {
    uint8_t v;
    return u8(&v) && v == kCodecVersion;
  }
  size_t remaining() const { return in_.size(); }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

void PutVarint64(std::string* dst, uint64_t v) {
  while (v >= 0x80) {
    dst->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  dst->push_back(static_cast<char>(v));
}

bool GetVarint64(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (size_t i = 0; i < 10; ++i) {
    if (i >= in->size()) return false;
    const uint8_t b = static_cast<uint8_t>((*in)[i]);
    if (i == 9 && b > 1) return false;  // would overflow 64 bits
    result |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (b == 0 && i > 0) return false;  // not canonical: a trailing zero group
      *v = result;
      in->remove_prefix(i + 1);
      return true;
    }
  }
  return false;
}

void PutBytes(std::string* dst, std::string_view b) {
  PutVarint64(dst, b.size());
  dst->append(b);
}

bool GetBytes(std::string_view* in, std::string* v) {
  uint64_t n;
  if (!GetVarint64(in, &n) || n > in->size()) return false;
  v->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

std::string EncodeMessage(const Message& m) {
  std::string out;
  out.reserve(32 + m.context.size() + PayloadSize(m.entries) + m.snapshot.data.size());
  out.push_back(static_cast<char>(kCodecVersion));
  out.push_back(static_cast<char>(m.type));
  PutVarint64(&out, m.to);
  PutVarint64(&out, m.from);
  PutVarint64(&out, m.term);
  PutVarint64(&out, m.log_term);
  PutVarint64(&out, m.index);
  PutVarint64(&out, m.commit);
  PutVarint64(&out, m.reject_hint);
  const bool has_snapshot = !(m.snapshot == Snapshot{});
  uint8_t flags = 0;
  if (m.reject) flags |= kFlagReject;
  if (has_snapshot) flags |= kFlagSnapshot;
  out.push_back(static_cast<char>(flags));
  PutBytes(&out, m.context);
  PutVarint64(&out, m.entries.size());
  for (const Entry& e : m.entries) PutEntryBody(&out, e);
  if (has_snapshot) {
    PutSnapshotMetadataBody(&out, m.snapshot.metadata);
    PutBytes(&out, m.snapshot.data);
  }
  return out;
}

Result<Message> DecodeMessage(std::string_view in) {
  Reader r(in);
  Message m;
  if (!r.version()) return Malformed("message: version");
  uint8_t type;
  if (!r.u8(&type) || type > kMaxMessageType) return Malformed("message: type");
  m.type = static_cast<MessageType>(type);
  if (!r.varint(&m.to) || !r.varint(&m.from) || !r.varint(&m.term) || !r.varint(&m.log_term) ||
      !r.varint(&m.index) || !r.varint(&m.commit) || !r.varint(&m.reject_hint)) {
    return Malformed("message: header");
  }
  uint8_t flags;
  if (!r.u8(&flags) || (flags & ~kKnownFlags) != 0) return Malformed("message: flags");
  m.reject = (flags & kFlagReject) != 0;
  if (!r.bytes(&m.context)) return Malformed("message: context");
  uint64_t n;
  if (!r.varint(&n) || n > r.remaining() / kMinEntryBytes) return Malformed("message: entries");
  m.entries.resize(n);
  for (Entry& e : m.entries) {
    if (!r.entry_body(&e)) return Malformed("message: entry");
  }
  if (flags & kFlagSnapshot) {
    if (!r.snapshot_metadata_body(&m.snapshot.metadata) || !r.bytes(&m.snapshot.data)) {
      return Malformed("message: snapshot");
    }
    if (m.snapshot == Snapshot{}) return Malformed("message: empty snapshot flagged");
  }
  if (!r.done()) return Malformed("message: trailing bytes");
  return m;
}

std::string EncodeConfChange(const ConfChange& cc) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  out.push_back(static_cast<char>(cc.type));
  PutVarint64(&out, cc.node_id);
  PutBytes(&out, cc.context);
  return out;
}

Result<ConfChange> DecodeConfChange(std::string_view in) {
  Reader r(in);
  ConfChange cc;
  if (!r.version()) return Malformed("conf change: version");
  uint8_t type;
  if (!r.u8(&type) || type > static_cast<uint8_t>(ConfChangeType::kRemoveNode)) {
    return Malformed("conf change: type");
  }
  cc.type = static_cast<ConfChangeType>(type);
  if (!r.varint(&cc.node_id) || !r.bytes(&cc.context) || !r.done()) {
    return Malformed("conf change");
  }
  return cc;
}

std::string EncodeEntry(const Entry& e) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  PutEntryBody(&out, e);
  return out;
}

Result<Entry> DecodeEntry(std::string_view in) {
  Reader r(in);
  Entry e;
  if (!r.version() || !r.entry_body(&e) || !r.done()) return Malformed("entry");
  return e;
}

std::string EncodeHardState(const HardState& hs) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  PutVarint64(&out, hs.term);
  PutVarint64(&out, hs.vote);
  PutVarint64(&out, hs.commit);
  return out;
}

Result<HardState> DecodeHardState(std::string_view in) {
  Reader r(in);
  HardState hs;
  if (!r.version() || !r.varint(&hs.term) || !r.varint(&hs.vote) || !r.varint(&hs.commit) ||
      !r.done()) {
    return Malformed("hard state");
  }
  return hs;
}

std::string EncodeSnapshotMetadata(const SnapshotMetadata& md) {
  std::string out;
  out.push_back(static_cast<char>(kCodecVersion));
  PutSnapshotMetadataBody(&out, md);
  return out;
}

Result<SnapshotMetadata> DecodeSnapshotMetadata(std::string_view in) {
  Reader r(in);
  SnapshotMetadata md;
  if (!r.version() || !r.snapshot_metadata_body(&md) || !r.done()) {
    return Malformed("snapshot metadata");
  }
  return md;
}

}  // namespace keel::raft
