// MemberStore: the cluster's members as replicated state (etcd's membership store): each member's
// id, name, peer URLs and client URLs. The initial members come from --initial-cluster on the
// cluster's first start (every member computes the same set); a member's name and client URLs
// reach the others through a MemberAttributesRequest entry (etcd's publish), applied here. Kept in
// the Backend's `members` bucket (docs/format/mvcc.md), so restarts and snapshots carry them.
//
// Thread safety: the apply thread calls bootstrap() and apply(); list() and find() may be called
// from any thread.
#ifndef KEEL_SERVER_MEMBER_STORE_H_
#define KEEL_SERVER_MEMBER_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "keel/status.h"
#include "mvcc/kv_store.h"
#include "server/request.h"

namespace keel::server {

inline constexpr char kMembersBucket[] = "members";

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

  // Every member, by id.
  std::vector<Member> list() const;
  std::optional<Member> find(uint64_t id) const;

 private:
  explicit MemberStore(mvcc::KvStore& store) : store_(store) {}
  Status load();

  mvcc::KvStore& store_;
  mutable std::mutex mu_;
  std::map<uint64_t, Member> members_;
};

// A member record's value in the `members` bucket, and back (Corruption for anything else).
std::string encode_member(const Member& m);
Result<Member> decode_member(uint64_t id, std::string_view value);

}  // namespace keel::server

#endif  // KEEL_SERVER_MEMBER_STORE_H_
