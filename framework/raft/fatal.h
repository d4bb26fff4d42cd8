// Fatal: how the kernel stops when continuing would break Raft's guarantees (a storage error,
// a broken invariant such as truncating a committed entry). Like LogCabin's PANIC: a member that
// cannot trust its own state must not keep taking part.
#ifndef KEEL_RAFT_FATAL_H_
#define KEEL_RAFT_FATAL_H_

#include <string>

namespace keel::raft {

// Writes `what` to stderr and aborts.
[[noreturn]] void Fatal(const std::string& what);

}  // namespace keel::raft

#endif  // KEEL_RAFT_FATAL_H_
