// ReadOnly: the leader's queue of linearizable reads waiting for a heartbeat round to confirm it
// still leads (dissertation §6.4, "ReadIndex").
//
// Each request records the commit index at the time it arrived. A heartbeat round carries the
// context of the newest request; once a quorum acknowledges that context, the leader was leader
// after every request in the queue up to it arrived, so all of them are answered at once.
//
// Thread safety: none — single-threaded by contract.
#ifndef KEEL_RAFT_READ_ONLY_H_
#define KEEL_RAFT_READ_ONLY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "raft/messages.h"

namespace keel::raft {

struct ReadIndexStatus {
  Message req;  // the original kReadIndex (req.from is kNone or the leader for local reads)
  uint64_t index = 0;
  std::map<NodeId, bool> acks;
};

class ReadOnly {
 public:
  // Queues a request with read index `index`. A context already queued is ignored.
  void add_request(uint64_t index, const Message& m);
  // Records that `id` acknowledged the heartbeat carrying `ctx`; returns the acks so far (empty
  // if ctx is unknown).
  const std::map<NodeId, bool>* recv_ack(NodeId id, const std::string& ctx);
  // Dequeues and returns every request up to and including the one with `ctx`.
  std::vector<ReadIndexStatus> advance(const std::string& ctx);
  // The newest queued context ("" if none).
  std::string last_pending_request_ctx() const;
  size_t pending() const { return queue_.size(); }
  void reset() {
    pending_.clear();
    queue_.clear();
  }

 private:
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_READ_ONLY_H_
