// The member's end of the Transport (framework/server/peer_network.h), over each transport plugin
// loaded as keeld loads it, on 127.0.0.1: a call gets the callee's answer or its error; a call to
// a peer nothing listens for fails at once when it asked to, and otherwise waits for its deadline
// or the network's stop; Raft messages arrive as from their sender, and one that claims another
// sender is dropped; a link's failpoints lose or hold back its frames.
//
// Every wait is bounded (transport_test_util.h); nothing asserts how long something took.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "failpoint/failpoint.h"
#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"
#include "server/peer_network.h"
#include "transport_test_util.h"

namespace keel::testing {
namespace {

using server::Member;
using server::PeerMethod;
using server::PeerNetwork;

// A call's answer, delivered once from any thread.
class Answer {
 public:
  PeerNetwork::CallDone done() {
    return [promise = promise_](Result<std::string> r) { promise->set_value(std::move(r)); };
  }
  bool arrived() { return future_.wait_for(kWait) == std::future_status::ready; }
  bool pending() { return future_.wait_for(std::chrono::seconds(0)) != std::future_status::ready; }
  Result<std::string> get() { return future_.get(); }

 private:
  std::shared_ptr<std::promise<Result<std::string>>> promise_ = std::make_shared<std::promise<Result<std::string>>>();
  std::future<Result<std::string>> future_ = promise_->get_future();
};

// One member's network and what reached it.
struct Side {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<raft::Message> messages;
  std::unique_ptr<PeerNetwork> net;

  bool wait_messages(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, [&] { return messages.size() >= n; });
  }
};

const std::vector<Member> kMembers = {
    Member{1, "one", {"http://127.0.0.1:1"}, {"http://127.0.0.1:2"}, false},
    Member{2, "two", {"http://127.0.0.1:3"}, {}, false},
};

raft::Message heartbeat(uint64_t from, uint64_t to) {
  raft::Message m;
  m.type = raft::MessageType::kHeartbeat;
  m.from = from;
  m.to = to;
  m.term = 7;
  return m;
}

class PeerNetworkTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    config_ = PluginConfig("transport." + GetParam());
    auto engine = load_transport(KEEL_PLUGIN_BUILD_DIR, GetParam(), config_, logger_);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    engine_ = std::move(engine).value();
  }

  void TearDown() override {
    must_return("stopping the peer networks", [&] { sides_.clear(); });
  }

  // Starts member `id`'s network on a free port. Its calls are answered: kMembers with kMembers,
  // a lease renew with etcd's "lease not found".
  Side* start(uint64_t id) {
    auto side = std::make_unique<Side>();
    Side* s = side.get();
    server::PeerNetworkOptions options;
    options.member_id = id;
    options.cluster_id = 1;
    options.listen_urls = {"http://127.0.0.1:0"};
    options.on_message = [s](raft::Message m) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->messages.push_back(std::move(m));
      s->cv.notify_all();
    };
    options.on_unreachable = [](uint64_t) {};
    options.on_call = [](uint64_t, PeerMethod method, std::string,
                         std::function<void(Result<std::string>)> reply) {
      if (method == PeerMethod::kMembers) return reply(server::encode_members(kMembers));
      reply(Status::NotFound("etcdserver: requested lease not found"));
    };
    options.logger = &logger_;
    Result<std::unique_ptr<PeerNetwork>> net = PeerNetwork::start(*engine_, std::move(options));
    EXPECT_TRUE(net.ok()) << net.status().to_string();
    if (!net.ok()) return nullptr;
    s->net = std::move(net).value();
    sides_.push_back(std::move(side));
    return s;
  }

  // A loopback URL whose port was bound and closed again: nothing listens there now (empty on
  // failure).
  static std::string url_nothing_listens_on() {
    RawSocket closed(/*listen=*/false);
    return closed.ok() ? closed.url() : std::string();
  }

  static std::chrono::steady_clock::time_point far_away() {
    return std::chrono::steady_clock::now() + std::chrono::hours(1);
  }

  PluginConfig config_;
  RecordingLogger logger_;
  std::unique_ptr<TransportPlugin> engine_;
  std::vector<std::unique_ptr<Side>> sides_;
};

TEST_P(PeerNetworkTest, ACallGetsTheCalleesAnswerOrItsError) {
  Side* a = start(1);
  Side* b = start(2);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  ASSERT_TRUE(a->net->add_peer(2, b->net->listen_urls()).ok());
  ASSERT_TRUE(b->net->add_peer(1, a->net->listen_urls()).ok());

  Answer members;
  a->net->call(2, PeerMethod::kMembers, "", far_away(), members.done());
  ASSERT_TRUE(members.arrived()) << logger_.all_lines();
  Result<std::string> body = members.get();
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  EXPECT_EQ(server::decode_members(*body).value(), kMembers);

  Answer renew;
  b->net->call(1, PeerMethod::kLeaseRenew, server::encode_lease_renew(5), far_away(), renew.done());
  ASSERT_TRUE(renew.arrived()) << logger_.all_lines();
  Result<std::string> refused = renew.get();
  EXPECT_EQ(refused.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(refused.status().message(), "etcdserver: requested lease not found");
}

TEST_P(PeerNetworkTest, ACallToAPeerNothingListensForFailsWhenAskedToAndOtherwiseWaits) {
  Side* a = start(1);
  ASSERT_NE(a, nullptr);
  const std::string dead_url = url_nothing_listens_on();
  ASSERT_FALSE(dead_url.empty());
  ASSERT_TRUE(a->net->add_peer(9, {dead_url}).ok());

  Answer waits;
  a->net->call(9, PeerMethod::kMembers, "", far_away(), waits.done());
  Answer fails;
  a->net->call(9, PeerMethod::kMembers, "", far_away(), fails.done(), PeerNetwork::IfUnreachable::kFail);
  ASSERT_TRUE(fails.arrived()) << "a call that asked to fail on an unreachable peer never did";
  Result<std::string> failed = fails.get();
  EXPECT_EQ(failed.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(failed.status().message().find("unreachable"), std::string::npos) << failed.status().to_string();

  // The other waits on (its frame may still get through), until its deadline has passed.
  EXPECT_TRUE(waits.pending());
  a->net->expire_calls(std::chrono::steady_clock::now(), Status::DeadlineExceeded("not yet"));
  EXPECT_TRUE(waits.pending()) << "a call expired before its deadline";
  a->net->expire_calls(far_away() + std::chrono::seconds(1), Status::DeadlineExceeded("expired"));
  ASSERT_TRUE(waits.arrived());
  EXPECT_EQ(waits.get().status().message(), "expired");

  // Stopping the network fails what still waits, with the status it is given.
  Answer stopped;
  a->net->call(9, PeerMethod::kMembers, "", far_away(), stopped.done());
  a->net->stop(Status::Cancelled("stopped"));
  ASSERT_TRUE(stopped.arrived());
  EXPECT_EQ(stopped.get().status().message(), "stopped");
  Answer after_stop;
  a->net->call(9, PeerMethod::kMembers, "", far_away(), after_stop.done());
  ASSERT_TRUE(after_stop.arrived());
  EXPECT_EQ(after_stop.get().status().code(), Status::Code::kCancelled);
}

TEST_P(PeerNetworkTest, APeerSetPeersDropsStaysReachableUntilItsLingerEnds) {
  Side* a = start(1);
  Side* b = start(2);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  ASSERT_TRUE(a->net->add_peer(2, b->net->listen_urls()).ok());
  ASSERT_TRUE(b->net->add_peer(1, a->net->listen_urls()).ok());
  const auto dropped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->net->set_peers({}, dropped_at).ok());

  // What is sent to the dropped peer in its linger still reaches it, and its answer comes back.
  a->net->retire_departed(dropped_at + server::kDepartureLinger - std::chrono::milliseconds(1));
  Answer lingering;
  a->net->call(2, PeerMethod::kMembers, "", far_away(), lingering.done());
  ASSERT_TRUE(lingering.arrived()) << logger_.all_lines();
  Result<std::string> body = lingering.get();
  ASSERT_TRUE(body.ok()) << body.status().to_string();
  EXPECT_EQ(server::decode_members(*body).value(), kMembers);

  // Then it is gone: a call to it fails at once.
  a->net->retire_departed(dropped_at + server::kDepartureLinger);
  Answer gone;
  a->net->call(2, PeerMethod::kMembers, "", far_away(), gone.done());
  ASSERT_TRUE(gone.arrived());
  Result<std::string> refused = gone.get();
  EXPECT_EQ(refused.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(refused.status().message(), "member 0000000000000002 is not a peer");
}

TEST_P(PeerNetworkTest, ACallWaitingForARetiredPeerFailsThen) {
  Side* a = start(1);
  ASSERT_NE(a, nullptr);
  const std::string dead_url = url_nothing_listens_on();
  ASSERT_FALSE(dead_url.empty());
  ASSERT_TRUE(a->net->add_peer(9, {dead_url}).ok());
  Answer waits;
  a->net->call(9, PeerMethod::kMembers, "", far_away(), waits.done());
  const auto dropped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(a->net->set_peers({}, dropped_at).ok());
  a->net->retire_departed(dropped_at);
  EXPECT_TRUE(waits.pending()) << "a call failed while its peer lingered";
  a->net->retire_departed(dropped_at + server::kDepartureLinger);
  ASSERT_TRUE(waits.arrived());
  Result<std::string> failed = waits.get();
  EXPECT_EQ(failed.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(failed.status().message(), "the peer left the cluster");
}

TEST_P(PeerNetworkTest, RaftMessagesArriveFromTheirSenderAndAForgedSenderIsDropped) {
  Side* a = start(1);
  Side* b = start(2);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  ASSERT_TRUE(a->net->add_peer(2, b->net->listen_urls()).ok());

  // Both on the control lane, in order: once the second arrived, the first would have too.
  a->net->send({heartbeat(3, 2), heartbeat(1, 2)});
  ASSERT_TRUE(b->wait_messages(1)) << logger_.all_lines();
  ASSERT_TRUE(logger_.wait_for_line("claims to be from"));
  std::lock_guard<std::mutex> lock(b->mu);
  ASSERT_EQ(b->messages.size(), 1u);
  EXPECT_EQ(b->messages[0].from, 1u);
  EXPECT_EQ(b->messages[0].to, 2u);
  EXPECT_EQ(b->messages[0].term, 7u);
}

raft::Message heartbeat_of_term(uint64_t term) {
  raft::Message m = heartbeat(1, 2);
  m.term = term;
  return m;
}

// The peer links' failpoints (what the fault harness partitions members with): a link's drop
// loses the frames of that link only, each way on its own, and its sleep makes them arrive late.
TEST_P(PeerNetworkTest, ALinksFailpointsLoseOrHoldBackItsFramesOnly) {
  struct Off {
    ~Off() { EXPECT_TRUE(failpoint::set_all("").ok()); }
  } off;
  Side* a = start(1);
  Side* b = start(2);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  ASSERT_TRUE(a->net->add_peer(2, b->net->listen_urls()).ok());
  ASSERT_TRUE(b->net->add_peer(1, a->net->listen_urls()).ok());
  auto terms = [&] {
    std::lock_guard<std::mutex> lock(b->mu);
    std::vector<uint64_t> t;
    for (const raft::Message& m : b->messages) t.push_back(m.term);
    return t;
  };

  // A receiving link's failpoint is reached on the transport's thread: a count of one lets the
  // test see when it was spent.
  auto spent = [] {
    for (int i = 0; i < 600 && !failpoint::list().empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return failpoint::list().empty();
  };

  // Lost on the way out, then on the way in; each message after it shows the one before it would
  // have arrived by then (one lane, in order).
  ASSERT_TRUE(failpoint::set("peerSend/2", "drop").ok());
  a->net->send({heartbeat_of_term(1)});
  ASSERT_TRUE(failpoint::set_all("peerRecv/1=1*drop").ok());
  a->net->send({heartbeat_of_term(2)});
  ASSERT_TRUE(spent());
  ASSERT_TRUE(failpoint::set_all("peerRecv/3=drop;peerSend/1=drop").ok());  // other links
  a->net->send({heartbeat_of_term(3)});
  ASSERT_TRUE(b->wait_messages(1)) << logger_.all_lines();
  EXPECT_EQ(terms(), std::vector<uint64_t>{3});

  // Held back: a frame sent later without delay overtakes it, and it still arrives.
  ASSERT_TRUE(failpoint::set_all("peerSend/2=1*sleep(3000)").ok());
  a->net->send({heartbeat_of_term(4)});
  a->net->send({heartbeat_of_term(5)});
  ASSERT_TRUE(b->wait_messages(3)) << logger_.all_lines();
  EXPECT_EQ(terms(), (std::vector<uint64_t>{3, 5, 4}));
  ASSERT_TRUE(failpoint::set_all("peerRecv/1=1*sleep(3000)").ok());
  a->net->send({heartbeat_of_term(6)});
  a->net->send({heartbeat_of_term(7)});
  ASSERT_TRUE(b->wait_messages(5)) << logger_.all_lines();
  EXPECT_EQ(terms(), (std::vector<uint64_t>{3, 5, 4, 7, 6}));

  // A call whose answer is lost gets none: it waits for its deadline.
  ASSERT_TRUE(failpoint::set_all("peerRecv/2=1*drop").ok());
  Answer lost;
  a->net->call(2, PeerMethod::kMembers, "", far_away(), lost.done());
  ASSERT_TRUE(spent());
  Answer next;
  a->net->call(2, PeerMethod::kMembers, "", far_away(), next.done());
  ASSERT_TRUE(next.arrived()) << logger_.all_lines();
  EXPECT_TRUE(lost.pending()) << "an answer the link lost arrived";
}

INSTANTIATE_TEST_SUITE_P(Plugins, PeerNetworkTest, ::testing::Values("tcp", "grpc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace keel::testing
