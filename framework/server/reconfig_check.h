// etcd 3.4's --strict-reconfig-check rules: a membership change is refused when it would leave
// the cluster short of a quorum of started, connected voters. A member is started once it has
// published its name (etcd's IsStarted); it is connected as the member's transport sees it
// (PeerNetwork::active_since), and counts as healthy once connected for kHealthInterval.
#ifndef KEEL_SERVER_RECONFIG_CHECK_H_
#define KEEL_SERVER_RECONFIG_CHECK_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "keel/status.h"
#include "server/member_store.h"

namespace keel::server {

// etcd's HealthInterval.
inline constexpr std::chrono::seconds kHealthInterval{5};

struct ClusterView {
  using Time = std::chrono::steady_clock::time_point;
  std::vector<Member> members;
  uint64_t self = 0;
  Time now{};
  // Since when a peer has been connected; none when it is not (never asked for `self`).
  std::function<std::optional<Time>(uint64_t)> active_since;
};

// Adding `member` (etcd's mayAddMember): a voter needs the started voters to stay a quorum of the
// voters after it ("not enough started members"), and any member needs every voter connected for
// kHealthInterval ("unhealthy cluster").
Status may_add_member(const ClusterView& view, const Member& member);
// Removing `id` (etcd's mayRemoveMember): a learner always may go; a voter only while the other
// started voters stay a quorum, and, unless it is down already, while the connected voters
// without it still form one.
Status may_remove_member(const ClusterView& view, uint64_t id);
// Promoting the learner `id` (etcd's IsReadyToPromoteMember): the started voters and it must be
// a quorum of the voters with it.
Status may_promote_member(const ClusterView& view, uint64_t id);

}  // namespace keel::server

#endif  // KEEL_SERVER_RECONFIG_CHECK_H_
