#include "raft/messages.h"

#include <sstream>

namespace keel::raft {

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHup:
      return "Hup";
    case MessageType::kBeat:
      return "Beat";
    case MessageType::kProp:
      return "Prop";
    case MessageType::kApp:
      return "App";
    case MessageType::kAppResp:
      return "AppResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResp:
      return "VoteResp";
    case MessageType::kSnap:
      return "Snap";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResp:
      return "HeartbeatResp";
    case MessageType::kUnreachable:
      return "Unreachable";
    case MessageType::kSnapStatus:
      return "SnapStatus";
    case MessageType::kCheckQuorum:
      return "CheckQuorum";
    case MessageType::kTransferLeader:
      return "TransferLeader";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
    case MessageType::kReadIndex:
      return "ReadIndex";
    case MessageType::kReadIndexResp:
      return "ReadIndexResp";
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResp:
      return "PreVoteResp";
  }
  return "Unknown";
}

bool IsLocalMessage(MessageType type) {
  switch (type) {
    case MessageType::kHup:
    case MessageType::kBeat:
    case MessageType::kUnreachable:
    case MessageType::kSnapStatus:
    case MessageType::kCheckQuorum:
      return true;
    default:
      return false;
  }
}

bool IsResponseMessage(MessageType type) {
  switch (type) {
    case MessageType::kAppResp:
    case MessageType::kVoteResp:
    case MessageType::kHeartbeatResp:
    case MessageType::kUnreachable:
    case MessageType::kReadIndexResp:
    case MessageType::kPreVoteResp:
      return true;
    default:
      return false;
  }
}

const char* RoleName(Role role) {
  switch (role) {
    case Role::kFollower:
      return "Follower";
    case Role::kCandidate:
      return "Candidate";
    case Role::kLeader:
      return "Leader";
    case Role::kPreCandidate:
      return "PreCandidate";
  }
  return "Unknown";
}

uint64_t PayloadSize(const std::vector<Entry>& entries) {
  uint64_t n = 0;
  for (const Entry& e : entries) n += EntrySize(e);
  return n;
}

std::string DescribeEntry(const Entry& e) {
  std::ostringstream os;
  os << e.term << "/" << e.index;
  if (e.type == EntryType::kConfChange) {
    os << " ConfChange";
  } else if (e.data.empty()) {
    os << " EntryNormal \"\"";
  } else {
    os << " EntryNormal \"" << e.data << "\"";
  }
  return os.str();
}

std::string DescribeMessage(const Message& m) {
  std::ostringstream os;
  os << m.from << "->" << m.to << " Msg" << MessageTypeName(m.type) << " Term:" << m.term
     << " Log:" << m.log_term << "/" << m.index;
  if (m.commit != 0) os << " Commit:" << m.commit;
  if (m.reject) os << " Rejected (Hint: " << m.reject_hint << ")";
  if (!m.context.empty()) os << " Context:\"" << m.context << "\"";
  if (!m.entries.empty()) {
    os << " Entries:[";
    for (size_t i = 0; i < m.entries.size(); ++i) {
      if (i > 0) os << ", ";
      os << DescribeEntry(m.entries[i]);
    }
    os << "]";
  }
  if (!m.snapshot.empty()) {
    os << " Snapshot: Index:" << m.snapshot.metadata.index << " Term:" << m.snapshot.metadata.term
       << " Voters:(";
    for (size_t i = 0; i < m.snapshot.metadata.conf_state.voters.size(); ++i) {
      os << (i ? " " : "") << m.snapshot.metadata.conf_state.voters[i];
    }
    os << ") Learners:(";
    for (size_t i = 0; i < m.snapshot.metadata.conf_state.learners.size(); ++i) {
      os << (i ? " " : "") << m.snapshot.metadata.conf_state.learners[i];
    }
    os << ")";
  }
  return os.str();
}

}  // namespace keel::raft
