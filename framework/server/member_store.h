// MemberStore: the cluster's members as replicated state (etcd's membership store): each member's
// id, name, peer URLs and client URLs, and whether it is a learner. The initial members come from
// --initial-cluster on the cluster's first start (every member computes the same set); a member's
// name and client URLs reach the others through a MemberAttributesRequest entry (etcd's publish);
// members are added, promoted and removed by Raft configuration changes, and given new peer URLs
// by a MemberUpdateRequest entry; all applied here. Kept in the Backend's `members` and
// `members_removed` buckets (docs/format/mvcc.md), so restarts and snapshots carry them.
//
// A configuration change is applied here exactly as Raft applied it (raft_driver.h does that on
// the Raft thread, before this store sees the entry), so Raft's voters and learners and these
// members never disagree: etcd's refusals of a change (check_*) are made before it is proposed.
//
// Thread safety: the apply thread calls bootstrap() and the apply methods; the others may be
// called from any thread.
#ifndef KEEL_SERVER_MEMBER_STORE_H_
#define KEEL_SERVER_MEMBER_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "keel/status.h"
#include "mvcc/kv_store.h"
#include "raft/messages.h"
#include "server/request.h"

namespace keel::server {

inline constexpr char kMembersBucket[] = "members";
// The ids of removed members (etcd's members_removed): never a member again.
inline constexpr char kRemovedMembersBucket[] = "members_removed";
// etcd 3.4's limit on learners.
inline constexpr size_t kMaxLearners = 1;

struct Member {
  uint64_t id = 0;
  std::string name;  // empty until the member published it
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;  // empty until the member published them
  bool is_learner = false;
  friend bool operator==(const Member&, const Member&) = default;
};

class MemberStore {
 public:
  // Loads the members from `store`'s Backend (creating the bucket on a new store).
  static Result<std::unique_ptr<MemberStore>> open(mvcc::KvStore& store);

  // A new cluster's first start: records `initial` and commits, unless members are recorded
  // already (a restart).
  Status bootstrap(const std::vector<Member>& initial);
  // Applies a member's published attributes as the entry at `index`. A member the store does not
  // know is left out (it was removed), as etcd does.
  Status apply(const MemberAttributesRequest& attributes, uint64_t index);
  // Applies the configuration change `cc` committed at `index`, as Raft applied it: kAddVoter
  // adds `member` (or promotes it when it is a learner), kAddLearner adds it as a learner (a
  // member already there stays as it is), kRemoveNode removes it for good, unless it is the last
  // voter (Raft refuses that change). `member` is the record the change carries.
  Status apply_conf_change(const raft::ConfChange& cc, const Member& member, uint64_t index);
  // Applies etcd's MemberUpdate at `index`: the member's new peer URLs. etcd's refusals (an
  // unknown member, URLs another member has) are the answer, and change nothing but the index.
  Status apply(const MemberUpdateRequest& update, uint64_t index);

  // etcd's refusals of a change before it is proposed (ValidateConfigurationChange and
  // v3rpc's checks): a member id that is or was a member, peer URLs another member has, one
  // learner too many; an unknown member; a promote of a voter.
  Status check_add(const Member& member) const;
  Status check_remove(uint64_t id) const;
  Status check_promote(uint64_t id) const;
  Status check_update(uint64_t id, const std::vector<std::string>& peer_urls) const;

  // Every member, by id.
  std::vector<Member> list() const;
  std::optional<Member> find(uint64_t id) const;
  // Whether `id` was removed from the cluster.
  bool is_removed(uint64_t id) const;

 private:
  explicit MemberStore(mvcc::KvStore& store) : store_(store) {}
  Status load();
  // Records `m` (new or changed) as the entry at `index`.
  Status put(Member m, uint64_t index);
  // Which member other than `except` has one of `peer_urls` (0: none). Needs mu_.
  uint64_t peer_urls_owner(const std::vector<std::string>& peer_urls, uint64_t except) const;

  mvcc::KvStore& store_;
  mutable std::mutex mu_;
  std::map<uint64_t, Member> members_;
  std::set<uint64_t> removed_;
};

// Whether two lists of peer URLs name the same URLs, in any order (etcd's URLStringsEqual, without
// its DNS lookups).
bool same_peer_urls(std::vector<std::string> a, std::vector<std::string> b);

// A member record's value in the `members` bucket, and back (Corruption for anything else).
std::string encode_member(const Member& m);
Result<Member> decode_member(uint64_t id, std::string_view value);

// What a configuration change entry's context holds: the id of the proposal to answer, and the
// member the change is about (its record; for a removal, only its id matters). The change's
// node_id is the member's id. Format: docs/format/requests.md.
struct MemberChange {
  uint64_t request_id = 0;
  Member member;
  friend bool operator==(const MemberChange&, const MemberChange&) = default;
};
std::string encode_member_change(const MemberChange& change);
Result<MemberChange> decode_member_change(uint64_t node_id, std::string_view context);

}  // namespace keel::server

#endif  // KEEL_SERVER_MEMBER_STORE_H_
