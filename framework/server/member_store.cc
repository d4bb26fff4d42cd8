#include "server/member_store.h"

#include <string_view>

#include "mvcc/revision.h"
#include "raft/codec.h"

namespace keel::server {
namespace {

// The value's first byte; a new layout takes a new one (old data dirs must keep reading).
constexpr uint8_t kMemberFormat = 1;

void put_strings(std::string* out, const std::vector<std::string>& list) {
  raft::PutVarint64(out, list.size());
  for (const std::string& s : list) raft::PutBytes(out, s);
}

bool get_strings(std::string_view* in, std::vector<std::string>* list) {
  uint64_t n;
  // Each string takes at least its one-byte length: a count beyond that is garbage.
  if (!raft::GetVarint64(in, &n) || n > in->size()) return false;
  list->resize(n);
  for (std::string& s : *list) {
    if (!raft::GetBytes(in, &s)) return false;
  }
  return true;
}

std::string key_of(uint64_t id) {
  std::string k;
  mvcc::append_u64_be(&k, id);
  return k;
}

}  // namespace

std::string encode_member(const Member& m) {
  std::string out(1, static_cast<char>(kMemberFormat));
  raft::PutBytes(&out, m.name);
  put_strings(&out, m.peer_urls);
  put_strings(&out, m.client_urls);
  out.push_back(m.is_learner ? '\1' : '\0');
  return out;
}

Result<Member> decode_member(uint64_t id, std::string_view value) {
  Member m;
  m.id = id;
  const bool known_format = !value.empty() && static_cast<uint8_t>(value[0]) == kMemberFormat;
  if (known_format) value.remove_prefix(1);
  const bool ok = known_format && raft::GetBytes(&value, &m.name) && get_strings(&value, &m.peer_urls) &&
                  get_strings(&value, &m.client_urls) && value.size() == 1 &&
                  (value[0] == '\0' || value[0] == '\1');
  if (!ok) return Status::Corruption("members: malformed record for member " + std::to_string(id));
  m.is_learner = value[0] == '\1';
  return m;
}

Result<std::unique_ptr<MemberStore>> MemberStore::open(mvcc::KvStore& store) {
  KEEL_RETURN_IF_ERROR(store.backend().create_bucket(kMembersBucket));
  std::unique_ptr<MemberStore> members(new MemberStore(store));
  KEEL_RETURN_IF_ERROR(members->load());
  return members;
}

Status MemberStore::load() {
  auto tx = store_.backend().begin_read();
  if (!tx.ok()) return tx.status();
  auto c = (*tx)->cursor(kMembersBucket);
  if (!c.ok()) return c.status();
  std::lock_guard lock(mu_);
  for ((*c)->seek_to_first(); (*c)->valid(); (*c)->next()) {
    std::string_view k = (*c)->key();
    if (k.size() != 8) return Status::Corruption("members: malformed key in the members bucket");
    Result<Member> m = decode_member(mvcc::read_u64_be(k), (*c)->value());
    if (!m.ok()) return m.status();
    members_[m->id] = std::move(m).value();
  }
  return (*c)->status();
}

Status MemberStore::bootstrap(const std::vector<Member>& initial) {
  {
    std::lock_guard lock(mu_);
    if (!members_.empty()) return Status::OK();
  }
  WriteBatch b;
  for (const Member& m : initial) b.put(kMembersBucket, key_of(m.id), encode_member(m));
  KEEL_RETURN_IF_ERROR(store_.stage(b, store_.consistent_index()));
  KEEL_RETURN_IF_ERROR(store_.force_commit());
  std::lock_guard lock(mu_);
  for (const Member& m : initial) members_[m.id] = m;
  return Status::OK();
}

Status MemberStore::apply(const MemberAttributesRequest& attributes, uint64_t index) {
  Member updated;
  {
    std::lock_guard lock(mu_);
    auto it = members_.find(attributes.member_id);
    if (it == members_.end()) {
      store_.set_consistent_index(index);
      return Status::OK();
    }
    updated = it->second;
  }
  updated.name = attributes.name;
  updated.client_urls = attributes.client_urls;
  WriteBatch b;
  b.put(kMembersBucket, key_of(updated.id), encode_member(updated));
  KEEL_RETURN_IF_ERROR(store_.stage(b, index));
  std::lock_guard lock(mu_);
  members_[updated.id] = std::move(updated);
  return Status::OK();
}

std::vector<Member> MemberStore::list() const {
  std::lock_guard lock(mu_);
  std::vector<Member> out;
  for (const auto& [id, m] : members_) out.push_back(m);
  return out;
}

std::optional<Member> MemberStore::find(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return std::nullopt;
  return it->second;
}

}  // namespace keel::server
