#include "server/reconfig_check.h"

#include "server/errors.h"

namespace keel::server {
namespace {

bool started(const Member& m) { return !m.name.empty(); }

// Whether `id` counts as connected since `since` (this member always does).
bool connected_since(const ClusterView& view, uint64_t id, ClusterView::Time since) {
  if (id == view.self) return true;
  std::optional<ClusterView::Time> t = view.active_since(id);
  return t.has_value() && *t <= since;
}

}  // namespace

Status may_add_member(const ClusterView& view, const Member& member) {
  size_t voters = 0;
  size_t started_voters = 0;
  bool all_connected = true;
  const ClusterView::Time since = view.now - kHealthInterval;
  for (const Member& m : view.members) {
    if (m.is_learner) continue;
    ++voters;
    started_voters += started(m) ? 1 : 0;
    all_connected = all_connected && connected_since(view, m.id, since);
  }
  if (!member.is_learner) {
    const size_t after = voters + 1;
    // etcd lets a one-member cluster grow to two (the way to restore a cluster from one member).
    const bool one_to_two = started_voters == 1 && after == 2;
    if (!one_to_two && started_voters < after / 2 + 1) return ErrNotEnoughStartedMembers();
  }
  if (!all_connected) return ErrUnhealthy();
  return Status::OK();
}

Status may_remove_member(const ClusterView& view, uint64_t id) {
  const Member* target = nullptr;
  for (const Member& m : view.members) {
    if (m.id == id) target = &m;
  }
  if (target != nullptr && target->is_learner) return Status::OK();
  size_t others = 0;
  size_t started_others = 0;
  size_t voters = 0;
  size_t active = 0;
  const ClusterView::Time since = view.now - kHealthInterval;
  for (const Member& m : view.members) {
    if (m.is_learner) continue;
    ++voters;
    active += connected_since(view, m.id, since) ? 1 : 0;
    if (m.id == id) continue;
    ++others;
    started_others += started(m) ? 1 : 0;
  }
  if (started_others < others / 2 + 1) return ErrNotEnoughStartedMembers();
  // A member that is down is not part of the quorum that serves: removing it costs nothing.
  if (id != view.self && !view.active_since(id).has_value()) return Status::OK();
  if (active < 1 + 1 + (voters - 1) / 2) return ErrUnhealthy();
  return Status::OK();
}

Status may_promote_member(const ClusterView& view, uint64_t) {
  // The learner counts among the voters after it, and as started (etcd does the same).
  size_t voters_after = 1;
  size_t started_voters = 1;
  for (const Member& m : view.members) {
    if (m.is_learner) continue;
    ++voters_after;
    started_voters += started(m) ? 1 : 0;
  }
  if (started_voters < voters_after / 2 + 1) return ErrNotEnoughStartedMembers();
  return Status::OK();
}

}  // namespace keel::server
