// Scenario scripts: testdata/*.txt are scripts of commands, each followed by the output it must
// produce (every Ready handled, every message sent, the state asked for). Run with
// KEEL_RAFT_REWRITE=1 to rewrite the expectations from the actual output, then review the diff.
//
// Format (as etcd raft's datadriven tests):
//
//   # a comment
//   command arg arg
//   ----
//   expected output lines
//   <blank line>
//
// Commands:
//   cluster voters=1,2,3 [learners=4] [prevote] [checkquorum]   a new bootstrapped cluster
//   add-node ID                  a member with an empty log (to be added by a conf change)
//   campaign ID | tick ID [N] | tick-all [N] (stabilizes after each round)
//   stabilize                    handle Readies and deliver messages until nothing moves
//   propose ID DATA | propose-conf-change ID add-voter|add-learner|remove NODE
//   read-index ID CTX | transfer-leader FROM TO | report-unreachable ID PEER
//   isolate ID | cut A B | drop TYPE | recover | restart ID | compact ID INDEX
//   status ID | log ID | applied ID | reads ID
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "test_cluster.h"

namespace keel::raft::test {
namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

std::vector<NodeId> Ids(const std::string& csv) {
  std::vector<NodeId> out;
  for (const std::string& s : Split(csv, ',')) out.push_back(std::stoull(s));
  return out;
}

MessageType TypeByName(const std::string& name) {
  for (uint8_t t = 0; t <= kMaxMessageType; ++t) {
    if (name == std::string("Msg") + MessageTypeName(static_cast<MessageType>(t))) {
      return static_cast<MessageType>(t);
    }
  }
  ADD_FAILURE() << "unknown message type " << name;
  return MessageType::kHup;
}

std::string Entries(const std::vector<Entry>& ents) {
  std::string s;
  for (size_t i = 0; i < ents.size(); ++i) s += (i ? ", " : "") + DescribeEntry(ents[i]);
  return s;
}

class Runner {
 public:
  std::string run(const std::vector<std::string>& args) {
    out_.str("");
    const std::string& cmd = args[0];
    auto arg = [&](size_t i) { return i < args.size() ? args[i] : std::string(); };
    auto id = [&](size_t i) { return static_cast<NodeId>(std::stoull(arg(i))); };
    if (cmd == "cluster") {
      std::vector<NodeId> voters, learners;
      bool pre_vote = false, check_quorum = false;
      for (size_t i = 1; i < args.size(); ++i) {
        if (args[i].rfind("voters=", 0) == 0) voters = Ids(args[i].substr(7));
        if (args[i].rfind("learners=", 0) == 0) learners = Ids(args[i].substr(9));
        if (args[i] == "prevote") pre_vote = true;
        if (args[i] == "checkquorum") check_quorum = true;
      }
      c_ = std::make_unique<Cluster>(voters, learners, [=](Config& cfg) {
        cfg.pre_vote = pre_vote;
        cfg.check_quorum = check_quorum;
        // Fixed timeouts keep scripts readable: every member times out after election_tick.
      });
      for (NodeId n : c_->ids()) c_->raft(n).set_randomized_election_timeout(10);
      c_->on_ready = [this](NodeId n, const Ready& rd) { print_ready(n, rd); };
      out_ << "ok\n";
    } else if (cmd == "add-node") {
      c_->add_empty_peer(id(1));
      c_->raft(id(1)).set_randomized_election_timeout(10);
      out_ << "ok\n";
    } else if (cmd == "campaign") {
      c_->campaign(id(1));
    } else if (cmd == "tick") {
      const int n = args.size() > 2 ? std::stoi(arg(2)) : 1;
      for (int i = 0; i < n; ++i) {
        c_->tick(id(1));
        c_->stabilize();
      }
    } else if (cmd == "tick-all") {
      c_->tick_all(args.size() > 1 ? std::stoi(arg(1)) : 1);
    } else if (cmd == "stabilize") {
      c_->stabilize();
    } else if (cmd == "propose") {
      out_ << "propose: " << c_->node(id(1)).propose(arg(2)).to_string() << "\n";
      c_->stabilize();
    } else if (cmd == "propose-conf-change") {
      ConfChange cc;
      cc.node_id = id(3);
      if (arg(2) == "add-voter") cc.type = ConfChangeType::kAddVoter;
      if (arg(2) == "add-learner") cc.type = ConfChangeType::kAddLearner;
      if (arg(2) == "remove") cc.type = ConfChangeType::kRemoveNode;
      out_ << "propose-conf-change: " << c_->node(id(1)).propose_conf_change(cc).to_string()
           << "\n";
      c_->stabilize();
    } else if (cmd == "read-index") {
      out_ << "read-index: " << c_->node(id(1)).read_index(arg(2)).to_string() << "\n";
      c_->stabilize();
    } else if (cmd == "transfer-leader") {
      c_->node(id(1)).transfer_leader(id(2));
      c_->stabilize();
    } else if (cmd == "report-unreachable") {
      c_->node(id(1)).report_unreachable(id(2));
    } else if (cmd == "isolate") {
      c_->isolate(id(1));
      out_ << "ok\n";
    } else if (cmd == "cut") {
      c_->cut(id(1), id(2));
      out_ << "ok\n";
    } else if (cmd == "drop") {
      c_->ignore(TypeByName(arg(1)));
      out_ << "ok\n";
    } else if (cmd == "recover") {
      c_->recover();
      out_ << "ok\n";
    } else if (cmd == "restart") {
      c_->restart(id(1));
      c_->raft(id(1)).set_randomized_election_timeout(10);
      out_ << "ok\n";
    } else if (cmd == "compact") {
      Peer& p = c_->peer(id(1));
      const uint64_t i = std::stoull(arg(2));
      Status s = p.storage->create_snapshot(i, p.conf_state, "snap@" + arg(2)).status();
      if (s.ok()) s = p.storage->compact(i);
      out_ << "compact: " << s.to_string() << "\n";
    } else if (cmd == "status") {
      const Raft& r = c_->raft(id(1));
      out_ << id(1) << ": " << RoleName(r.role()) << " term=" << r.term() << " lead=" << r.lead()
           << " vote=" << r.vote() << " commit=" << r.log().committed()
           << " applied=" << r.log().applied() << " last=" << r.log().last_index() << "\n";
      if (r.role() == Role::kLeader) {
        for (const auto& [pid, pr] : r.tracker().progress()) {
          out_ << "  " << pid << ": " << pr.describe() << "\n";
        }
      }
    } else if (cmd == "log") {
      out_ << id(1) << ": " << Entries(c_->log_of(id(1))) << "\n";
    } else if (cmd == "applied") {
      std::vector<std::string> data;
      for (const Entry& e : c_->peer(id(1)).applied) {
        if (!e.data.empty() && e.type == EntryType::kNormal) data.push_back(e.data);
      }
      out_ << id(1) << ":";
      for (const auto& d : data) out_ << " " << d;
      out_ << "\n";
    } else if (cmd == "reads") {
      out_ << id(1) << ":";
      for (const ReadState& rs : c_->peer(id(1)).reads) {
        out_ << " " << rs.request_ctx << "@" << rs.index;
      }
      out_ << "\n";
    } else {
      ADD_FAILURE() << "unknown command " << cmd;
    }
    return out_.str();
  }

 private:
  void print_ready(NodeId n, const Ready& rd) {
    if (rd.soft_state) {
      out_ << n << ": " << RoleName(rd.soft_state->role) << " lead=" << rd.soft_state->lead << "\n";
    }
    if (rd.hard_state) {
      out_ << n << ": HardState term=" << rd.hard_state->term << " vote=" << rd.hard_state->vote
           << " commit=" << rd.hard_state->commit << "\n";
    }
    if (!rd.snapshot.empty()) {
      out_ << n << ": Snapshot index=" << rd.snapshot.metadata.index
           << " term=" << rd.snapshot.metadata.term << "\n";
    }
    if (!rd.entries.empty()) out_ << n << ": Entries " << Entries(rd.entries) << "\n";
    if (!rd.committed_entries.empty()) {
      out_ << n << ": Committed " << Entries(rd.committed_entries) << "\n";
    }
    for (const Message& m : rd.messages) out_ << "  " << DescribeMessage(m) << "\n";
    for (const ReadState& rs : rd.read_states) {
      out_ << n << ": ReadState " << rs.request_ctx << "@" << rs.index << "\n";
    }
  }

  std::unique_ptr<Cluster> c_;
  std::ostringstream out_;
};

struct Block {
  std::vector<std::string> comments;  // lines before the command
  std::string command;
  std::string expected;
};

std::vector<Block> Parse(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> blocks;
  std::string line;
  Block cur;
  while (std::getline(in, line)) {
    if (cur.command.empty()) {
      if (line.empty() || line[0] == '#') {
        cur.comments.push_back(line);
        continue;
      }
      cur.command = line;
      std::getline(in, line);  // "----"
      while (std::getline(in, line) && !line.empty()) cur.expected += line + "\n";
      blocks.push_back(cur);
      cur = Block{};
    }
  }
  return blocks;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, Run) {
  const std::string path = std::string(KEEL_RAFT_TESTDATA_DIR) + "/" + GetParam();
  const bool rewrite = std::getenv("KEEL_RAFT_REWRITE") != nullptr;
  std::vector<Block> blocks = Parse(path);
  ASSERT_FALSE(blocks.empty()) << path;
  Runner runner;
  std::ostringstream rewritten;
  for (Block& b : blocks) {
    const std::string got = runner.run(Split(b.command, ' '));
    if (rewrite) {
      for (const auto& c : b.comments) rewritten << c << "\n";
      rewritten << b.command << "\n----\n" << (got.empty() ? "ok\n" : got) << "\n";
    } else {
      EXPECT_EQ(got.empty() ? "ok\n" : got, b.expected) << GetParam() << ": " << b.command;
    }
  }
  if (rewrite) {
    std::string text = rewritten.str();
    while (text.size() > 1 && text[text.size() - 1] == '\n' && text[text.size() - 2] == '\n') {
      text.pop_back();
    }
    std::ofstream(path) << text;
  }
}

// Every script in testdata/, found by listing it: a script added there runs without being named
// anywhere else.
std::vector<std::string> Scripts() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(KEEL_RAFT_TESTDATA_DIR)) {
    if (entry.is_regular_file() && entry.path().extension() == ".txt") names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TEST(ScenarioScripts, TestdataHoldsScripts) { EXPECT_FALSE(Scripts().empty()) << KEEL_RAFT_TESTDATA_DIR; }

INSTANTIATE_TEST_SUITE_P(Scripts, ScenarioTest, ::testing::ValuesIn(Scripts()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('.'));
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace keel::raft::test
