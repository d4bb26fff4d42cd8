// framework/failpoint: named places in the member where a test makes something go wrong on
// purpose — a crash before or after a WAL sync or a Backend commit, a slow disk, a frame lost or
// late on one peer link — so that the fault harness (tests/faults) can show that the guarantees
// hold when it does. Every failpoint is off unless a test switches it on; with none on, reaching
// one costs one atomic load.
//
// A failpoint is switched on with one of etcd's gofail terms (what etcd's robustness tests
// write):
//   [P%][N*]action
//   panic        the member dies on the spot: SIGKILL to itself, nothing flushed or closed
//   sleep(ms)    the member waits that long there (on a peer link: the frame arrives that late)
//   drop         keel's own, for peer links: the frame is lost
//   off          the failpoint is switched off
//   P%           the action happens with probability P (0 to 100) each time the point is reached
//   N*           only the next N times; then the failpoint is off
//
// keeld reads them from its environment (failpoint_control.h): KEEL_FAILPOINTS at start
// ("name=term;name=term", as etcd's GOFAIL_FAILPOINTS), and the file named by
// KEEL_FAILPOINTS_FILE whenever it changes (the harness's switch while the member runs).
//
// Thread safety: every function may be called from any thread.
#ifndef KEEL_FAILPOINT_FAILPOINT_H_
#define KEEL_FAILPOINT_FAILPOINT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/status.h"

namespace keel::failpoint {

// The failpoints (etcd's names where etcd has the same place).
inline constexpr std::string_view kRaftBeforeSave = "raftBeforeSave";    // before the WAL write and sync
inline constexpr std::string_view kRaftAfterSave = "raftAfterSave";      // after it, before sending or applying
inline constexpr std::string_view kRaftBeforeSaveSnap = "raftBeforeSaveSnap";  // a leader's snapshot, before its files
inline constexpr std::string_view kRaftAfterSaveSnap = "raftAfterSaveSnap";
inline constexpr std::string_view kRaftBeforeApplySnap = "raftBeforeApplySnap";  // before the store takes it
inline constexpr std::string_view kRaftAfterApplySnap = "raftAfterApplySnap";
inline constexpr std::string_view kBeforeCommit = "beforeCommit";  // the store's Backend commit
inline constexpr std::string_view kAfterCommit = "afterCommit";
// Peer links, one per peer and direction: "peerSend/<peer id in hex>" for the frames to that peer
// (snapshots included), "peerRecv/<peer id in hex>" for the frames from it.
inline constexpr std::string_view kPeerSend = "peerSend";
inline constexpr std::string_view kPeerRecv = "peerRecv";

// The name of a peer link's failpoint: `direction` is kPeerSend or kPeerRecv.
std::string peer_link(std::string_view direction, uint64_t peer);

enum class Action { kNone, kPanic, kSleep, kDrop };

// What a failpoint says to do when reached.
struct Hit {
  Action action = Action::kNone;
  std::chrono::milliseconds sleep{0};  // for kSleep
};

namespace internal {
extern std::atomic<bool> any_on;
Hit evaluate(std::string_view name);
}  // namespace internal

// Switches `name` to `term` ("off" switches it off). InvalidArgument names an unknown failpoint
// or a term that does not parse; nothing changes then.
Status set(std::string_view name, std::string_view term);
// Replaces every failpoint with those of `spec`: "name=term" items separated by ';' or newlines;
// blank items and lines starting with '#' are skipped. All or nothing: on an error, nothing
// changes.
Status set_all(std::string_view spec);
// What is switched on, as "name=term" (the term as set), sorted by name.
std::vector<std::string> list();

// What `name` says to do now (a count or a probability is spent here).
inline Hit evaluate(std::string_view name) {
  if (!internal::any_on.load(std::memory_order_acquire)) return Hit{};
  return internal::evaluate(name);
}

// What the failpoint of the link to or from `peer` says to do with a frame now: kNone, kSleep or
// kDrop (a panic kills the member here). `direction` is kPeerSend or kPeerRecv.
Hit evaluate_link(std::string_view direction, uint64_t peer);

// Reaches `name` on a path that can only crash or stall: panic kills the member, sleep waits
// here; drop means nothing here.
void reach(std::string_view name);

// Kills the member at once (the failpoint's panic), after saying which failpoint did it on stderr.
[[noreturn]] void crash(std::string_view name);

}  // namespace keel::failpoint

#endif  // KEEL_FAILPOINT_FAILPOINT_H_
