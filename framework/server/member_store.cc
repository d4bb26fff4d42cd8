#include "server/member_store.h"

#include <algorithm>
#include <string_view>

#include "mvcc/revision.h"
#include "raft/codec.h"
#include "server/errors.h"

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

bool same_peer_urls(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

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

std::string encode_member_change(const MemberChange& change) {
  std::string out;
  raft::PutVarint64(&out, change.request_id);
  out += encode_member(change.member);
  return out;
}

Result<MemberChange> decode_member_change(uint64_t node_id, std::string_view context) {
  MemberChange change;
  if (!raft::GetVarint64(&context, &change.request_id)) {
    return Status::Corruption("members: a configuration change without its request id");
  }
  Result<Member> m = decode_member(node_id, context);
  if (!m.ok()) return m.status();
  change.member = std::move(m).value();
  return change;
}

Result<std::unique_ptr<MemberStore>> MemberStore::open(mvcc::KvStore& store) {
  KEEL_RETURN_IF_ERROR(store.backend().create_bucket(kMembersBucket));
  KEEL_RETURN_IF_ERROR(store.backend().create_bucket(kRemovedMembersBucket));
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
  KEEL_RETURN_IF_ERROR((*c)->status());
  auto removed = (*tx)->cursor(kRemovedMembersBucket);
  if (!removed.ok()) return removed.status();
  for ((*removed)->seek_to_first(); (*removed)->valid(); (*removed)->next()) {
    std::string_view k = (*removed)->key();
    if (k.size() != 8 || !(*removed)->value().empty()) {
      return Status::Corruption("members: malformed record in the members_removed bucket");
    }
    removed_.insert(mvcc::read_u64_be(k));
  }
  return (*removed)->status();
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
  return put(std::move(updated), index);
}

Status MemberStore::apply_conf_change(const raft::ConfChange& cc, const Member& member, uint64_t index) {
  std::unique_lock lock(mu_);
  WriteBatch b;
  auto it = members_.find(member.id);
  std::optional<Member> changed;
  bool remove = false;
  switch (cc.type) {
    case raft::ConfChangeType::kAddVoter:
      if (it == members_.end()) {
        changed = member;
        changed->is_learner = false;
      } else if (it->second.is_learner) {
        changed = it->second;
        changed->is_learner = false;
      }
      break;
    case raft::ConfChangeType::kAddLearner:
      if (it == members_.end()) {
        changed = member;
        changed->is_learner = true;
      }
      break;
    case raft::ConfChangeType::kRemoveNode: {
      if (it == members_.end()) break;
      size_t other_voters = 0;
      for (const auto& [id, m] : members_) other_voters += (id != member.id && !m.is_learner) ? 1 : 0;
      remove = other_voters > 0;
      break;
    }
  }
  if (changed) b.put(kMembersBucket, key_of(member.id), encode_member(*changed));
  if (remove) {
    b.erase(kMembersBucket, key_of(member.id));
    b.put(kRemovedMembersBucket, key_of(member.id), "");
  }
  lock.unlock();
  KEEL_RETURN_IF_ERROR(store_.stage(b, index));
  lock.lock();
  if (changed) members_[member.id] = std::move(*changed);
  if (remove) {
    members_.erase(member.id);
    removed_.insert(member.id);
  }
  return Status::OK();
}

Status MemberStore::apply(const MemberUpdateRequest& update, uint64_t index) {
  Status refused = check_update(update.member_id, update.peer_urls);
  if (!refused.ok()) {
    store_.set_consistent_index(index);
    return refused;
  }
  Member updated = *find(update.member_id);
  updated.peer_urls = update.peer_urls;
  return put(std::move(updated), index);
}

Status MemberStore::put(Member m, uint64_t index) {
  WriteBatch b;
  b.put(kMembersBucket, key_of(m.id), encode_member(m));
  KEEL_RETURN_IF_ERROR(store_.stage(b, index));
  std::lock_guard lock(mu_);
  members_[m.id] = std::move(m);
  return Status::OK();
}

uint64_t MemberStore::peer_urls_owner(const std::vector<std::string>& peer_urls, uint64_t except) const {
  for (const auto& [id, m] : members_) {
    if (id == except) continue;
    for (const std::string& url : peer_urls) {
      if (std::find(m.peer_urls.begin(), m.peer_urls.end(), url) != m.peer_urls.end()) return id;
    }
  }
  return 0;
}

Status MemberStore::check_add(const Member& member) const {
  std::lock_guard lock(mu_);
  if (members_.count(member.id) != 0 || removed_.count(member.id) != 0) return ErrMemberExist();
  if (peer_urls_owner(member.peer_urls, member.id) != 0) return ErrPeerURLExist();
  if (member.is_learner) {
    size_t learners = 0;
    for (const auto& [id, m] : members_) learners += m.is_learner ? 1 : 0;
    if (learners + 1 > kMaxLearners) return ErrTooManyLearners();
  }
  return Status::OK();
}

Status MemberStore::check_remove(uint64_t id) const {
  std::lock_guard lock(mu_);
  if (members_.count(id) == 0) return ErrMemberNotFound();
  return Status::OK();
}

Status MemberStore::check_promote(uint64_t id) const {
  std::lock_guard lock(mu_);
  auto it = members_.find(id);
  if (it == members_.end()) return ErrMemberNotFound();
  if (!it->second.is_learner) return ErrMemberNotLearner();
  return Status::OK();
}

Status MemberStore::check_update(uint64_t id, const std::vector<std::string>& peer_urls) const {
  std::lock_guard lock(mu_);
  if (members_.count(id) == 0) return ErrMemberNotFound();
  if (peer_urls_owner(peer_urls, id) != 0) return ErrPeerURLExist();
  return Status::OK();
}

bool MemberStore::is_removed(uint64_t id) const {
  std::lock_guard lock(mu_);
  return removed_.count(id) != 0;
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
