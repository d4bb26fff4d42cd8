#include "raft/read_only.h"

namespace keel::raft {

void ReadOnly::add_request(uint64_t index, const Message& m) {
  if (pending_.count(m.context)) return;
  pending_[m.context] = ReadIndexStatus{m, index, {}};
  queue_.push_back(m.context);
}

const std::map<NodeId, bool>* ReadOnly::recv_ack(NodeId id, const std::string& ctx) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return nullptr;
  it->second.acks[id] = true;
  return &it->second.acks;
}

std::vector<ReadIndexStatus> ReadOnly::advance(const std::string& ctx) {
  std::vector<ReadIndexStatus> out;
  size_t n = 0;
  bool found = false;
  for (const std::string& c : queue_) {
    ++n;
    if (c == ctx) {
      found = true;
      break;
    }
  }
  if (!found) return out;
  for (size_t i = 0; i < n; ++i) {
    auto it = pending_.find(queue_.front());
    out.push_back(std::move(it->second));
    pending_.erase(it);
    queue_.pop_front();
  }
  return out;
}

std::string ReadOnly::last_pending_request_ctx() const {
  return queue_.empty() ? std::string() : queue_.back();
}

}  // namespace keel::raft
