// The Transport contract (keel/transport.h), checked for every transport plugin, loaded through
// the plugin host as keeld loads it, over real sockets on 127.0.0.1. It proves that frames arrive
// intact and in order per peer and lane, that unreachable peers are reported and reached again
// when they come back, that send() never blocks and a full queue stays bounded, that oversized
// frames and connections from another cluster or meant for another member are refused, that a
// snapshot streams with back-pressure beside the messages and reports its end, that stop()
// ends what is in flight without hanging, and that an introduction reaches a member's handler
// with no ids known and brings back its answer or its refusal.
//
// Transports listen on port 0 and the test learns their addresses from listen_urls(). Every wait
// is bounded (transport_test_util.h); nothing asserts how long something took.
#include <gtest/gtest.h>

#include <sstream>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"
#include "transport_test_util.h"

namespace keel::testing {
namespace {

constexpr Lane kLanes[] = {Lane::kControl, Lane::kBulk};

char lane_char(Lane lane) { return lane == Lane::kControl ? 'c' : 'b'; }

// A frame that says who sent it, on which lane, and its place in that lane's sequence.
std::string numbered(MemberId from, Lane lane, int seq) {
  return std::to_string(from) + " " + lane_char(lane) + " " + std::to_string(seq);
}

struct Numbered {
  MemberId from = 0;
  char lane = 0;
  int seq = -1;
};

bool parse_numbered(const std::string& frame, Numbered* n) {
  if (frame.size() > 64) return false;
  std::istringstream in(frame);
  return static_cast<bool>(in >> n->from >> n->lane >> n->seq) &&
         (n->lane == 'c' || n->lane == 'b');
}

// The sequence numbers of the numbered frames of `lane` among `frames`, in arrival order.
std::vector<int> sequence(const std::vector<std::string>& frames, Lane lane) {
  std::vector<int> seqs;
  Numbered n;
  for (const auto& f : frames) {
    if (parse_numbered(f, &n) && n.lane == lane_char(lane)) seqs.push_back(n.seq);
  }
  return seqs;
}

// The first way `frames` (delivered as from `from`) break "each lane's 0..count-1, in order,
// once, all of them sent by `from`", or "" if they keep it.
std::string check_numbered(const std::vector<std::string>& frames, MemberId from, int count) {
  int next[2] = {0, 0};
  for (const auto& f : frames) {
    Numbered n;
    if (!parse_numbered(f, &n))
      return "a frame that was never sent (" + std::to_string(f.size()) + " bytes)";
    if (n.from != from) {
      return "a frame of member " + std::to_string(n.from) + " delivered as from " +
             std::to_string(from);
    }
    int& want = next[n.lane == 'b'];
    if (n.seq != want) {
      return std::string("lane ") + n.lane + ": frame " + std::to_string(n.seq) +
             " arrived where " + std::to_string(want) + " was due";
    }
    ++want;
  }
  if (next[0] != count || next[1] != count) {
    return "only " + std::to_string(next[0]) + " control and " + std::to_string(next[1]) +
           " bulk frames of " + std::to_string(count) + " each arrived";
  }
  return "";
}

class TransportConformance : public ::testing::TestWithParam<std::string> {
 protected:
  // One running transport and the handler it calls (declared first: it outlives the transport).
  struct Member {
    MemberId id = 0;
    Recorder handler;
    std::unique_ptr<Transport> transport;
    std::string url;  // where it listens, from listen_urls()
  };
  using Tweak = std::function<void(TransportOptions&)>;

  void SetUp() override {
    config_ = PluginConfig("transport." + GetParam());
    auto engine = load_transport(KEEL_PLUGIN_BUILD_DIR, GetParam(), config_, logger_);
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    engine_ = std::move(engine).value();
  }

  void TearDown() override {
    latch_.open();
    must_return("destroying the transports", [&] {
      while (!members_.empty()) members_.pop_back();
    });
  }

  // Starts member `id` listening on `url`; the error if start() refuses.
  Result<Member*> launch(MemberId id, uint64_t cluster_id, const std::string& url,
                         const Tweak& tweak = {}) {
    auto m = std::make_unique<Member>();
    m->id = id;
    TransportOptions options;
    options.local_id = id;
    options.cluster_id = cluster_id;
    options.listen_urls = {url};
    options.handler = &m->handler;
    if (tweak) tweak(options);
    Result<std::unique_ptr<Transport>> t = engine_->start(options);
    if (!t.ok()) return t.status();
    m->transport = std::move(t).value();
    std::vector<std::string> urls = m->transport->listen_urls();
    if (urls.size() != 1)
      return Status::Internal("listen_urls() gave " + std::to_string(urls.size()) +
                              " URLs for one");
    m->url = urls[0];
    members_.push_back(std::move(m));
    return members_.back().get();
  }

  // Starts member `id` on a free port; nullptr (and a failure) if it does not start.
  Member* start(MemberId id, uint64_t cluster_id = 1, const Tweak& tweak = {}) {
    Result<Member*> m = launch(id, cluster_id, "http://127.0.0.1:0", tweak);
    EXPECT_TRUE(m.ok()) << "member " << id << ": " << m.status().to_string();
    if (!m.ok()) return nullptr;
    const std::string prefix = "http://127.0.0.1:";
    EXPECT_EQ((*m)->url.rfind(prefix, 0), 0u) << (*m)->url;
    EXPECT_NE((*m)->url, prefix + "0") << "listen_urls() must name the port it got";
    return *m;
  }

  // Stops and destroys `m` (its handler goes with it).
  void destroy(Member* m) {
    must_return("destroying a transport", [&] {
      for (auto it = members_.begin(); it != members_.end(); ++it) {
        if (it->get() == m) {
          members_.erase(it);
          return;
        }
      }
    });
  }

  // Makes every member in `ms` a peer of every other.
  static void connect(const std::vector<Member*>& ms) {
    for (Member* a : ms) {
      for (Member* b : ms) {
        if (a == b) continue;
        ASSERT_TRUE(a->transport->add_peer(b->id, {b->url}).ok());
      }
    }
  }

  // Sends numbered frames from `from` to `to` on `lane`, one at a time, until one arrives;
  // returns its sequence number, or -1 if none did within the bound. For a connection that has
  // to be made again first: frames sent before that may be lost.
  static int send_until_one_arrives(Member* from, Member* to, Lane lane, int* next_seq) {
    int first = *next_seq;
    auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      from->transport->send(to->id, numbered(from->id, lane, (*next_seq)++), lane);
      bool arrived = to->handler.wait_until(
          [&](const Seen& s) {
            auto it = s.frames.find(from->id);
            if (it == s.frames.end()) return false;
            std::vector<int> seqs = sequence(it->second, lane);
            return !seqs.empty() && seqs.back() >= first;
          },
          50ms);
      if (arrived) return sequence(to->handler.seen().frames[from->id], lane).back();
    }
    return -1;
  }

  // Expects start() on `url` to fail with `code`.
  void expect_start_fails(const std::string& url, Status::Code code) {
    Result<Member*> m = launch(99, 1, url);
    ASSERT_FALSE(m.ok()) << "start() accepted " << url;
    EXPECT_EQ(m.status().code(), code)
        << url << ": " << m.status().to_string() << " (wanted " << Status::code_name(code) << ")";
  }

  // A snapshot of kBigSnapshot bytes from `a` that `b` reads slowly, checking bytes, until the end
  // or an error (then its handler returns what it got): for stopping either side mid-flight.
  static constexpr uint64_t kBigSnapshot = 64 << 20;
  struct SnapshotInFlight {
    std::shared_ptr<SnapshotProgress> progress = std::make_shared<SnapshotProgress>();
    std::shared_ptr<Completion> done = std::make_shared<Completion>();
  };
  static SnapshotInFlight send_big_snapshot(Member* a, Member* b) {
    SnapshotInFlight s;
    b->handler.set_snapshot_fn([progress = s.progress](MemberId, std::string_view, ByteSource& data) {
      Status read = read_pattern(data, *progress, UINT64_MAX, 16 << 10, 5ms);
      progress->set_phase(SnapshotProgress::kReturned);
      return read;
    });
    a->transport->send_snapshot(
        b->id, "m",
        std::make_unique<PatternSource>(kBigSnapshot, std::make_shared<std::atomic<uint64_t>>(0)),
        Completion::callback(s.done));
    return s;
  }

  RecordingLogger logger_;
  PluginConfig config_;
  Latch latch_;
  std::unique_ptr<TransportPlugin> engine_;
  std::vector<std::unique_ptr<Member>> members_;
};

// 3 members, each sending 2,000 numbered frames on each lane to each other, all at once: each
// receiver gets every sender's frames of a lane in order, once, none lost, with the right sender.
TEST_P(TransportConformance, FramesArriveInOrderPerPeerAndLane) {
  constexpr int kFrames = 2000;
  std::vector<Member*> ms;
  for (MemberId id : {1, 2, 3}) {
    Member* m = start(id);
    ASSERT_NE(m, nullptr);
    ms.push_back(m);
  }
  connect(ms);
  must_return("sending", [&] {
    std::vector<std::thread> senders;
    for (Member* from : ms) {
      senders.emplace_back([&ms, from] {
        for (int seq = 0; seq < kFrames; ++seq) {
          for (Member* to : ms) {
            if (to == from) continue;
            for (Lane lane : kLanes)
              from->transport->send(to->id, numbered(from->id, lane, seq), lane);
          }
        }
      });
    }
    for (auto& t : senders) t.join();
  });
  const size_t expected = 2 * 2 * kFrames;  // 2 senders, 2 lanes
  for (Member* to : ms) {
    bool all = to->handler.wait_until([&](const Seen& s) { return s.frame_count >= expected; });
    Seen seen = to->handler.seen();
    EXPECT_TRUE(all) << "member " << to->id << " got " << seen.frame_count << " of " << expected
                     << " frames";
    EXPECT_EQ(seen.frames.size(), 2u) << "member " << to->id << " got frames from unknown senders";
    for (Member* from : ms) {
      if (from == to) continue;
      EXPECT_EQ(check_numbered(seen.frames[from->id], from->id, kFrames), "")
          << "frames from member " << from->id << " to member " << to->id;
    }
  }
}

// An empty frame, 1 byte, 64 KiB and 4 MiB arrive byte for byte, on each lane.
TEST_P(TransportConformance, FramesOfEverySizeArriveIntact) {
  Member* a = start(1);
  Member* b = start(2);
  ASSERT_TRUE(a && b);
  connect({a, b});
  const std::vector<std::string> frames = {"", pattern(1, 1), pattern(64 << 10, 2),
                                           pattern(4 << 20, 3)};
  size_t arrived = 0;
  for (Lane lane : kLanes) {
    for (const auto& f : frames) a->transport->send(b->id, f, lane);
    arrived += frames.size();
    ASSERT_TRUE(b->handler.wait_frames_from(a->id, arrived))
        << "lane " << lane_char(lane) << ": " << b->handler.seen().frames_from(a->id) << " of "
        << arrived << " frames arrived";
    Seen seen = b->handler.seen();
    ASSERT_EQ(seen.frames[a->id].size(), arrived);
    for (size_t i = 0; i < frames.size(); ++i) {
      const std::string& got = seen.frames[a->id][arrived - frames.size() + i];
      EXPECT_TRUE(got == frames[i])
          << "lane " << lane_char(lane) << ": the frame of " << frames[i].size()
          << " bytes arrived as " << got.size() << " bytes that differ";
    }
  }
}

// A peer nothing listens for, and a peer never added, are reported unreachable; send() returns.
TEST_P(TransportConformance, UnreachablePeersAreReported) {
  Member* a = start(1);
  ASSERT_NE(a, nullptr);
  std::string dead_url;
  {
    RawSocket closed(/*listen=*/false);
    ASSERT_TRUE(closed.ok());
    dead_url = closed.url();
  }  // closed: nothing listens on its port now
  ASSERT_TRUE(a->transport->add_peer(9, {dead_url}).ok());
  must_return("send() to a peer nothing listens for", [&] {
    a->transport->send(9, "hello", Lane::kControl);
    a->transport->send(9, "hello", Lane::kBulk);
  });
  EXPECT_TRUE(a->handler.wait_unreachable(9)) << "no on_unreachable for a peer nothing listens for";

  must_return("send() to an unknown peer",
              [&] { a->transport->send(42, "hello", Lane::kControl); });
  EXPECT_TRUE(a->handler.wait_unreachable(42)) << "no on_unreachable for an unknown peer";

  auto done = std::make_shared<Completion>();
  a->transport->send_snapshot(
      42, "meta",
      std::make_unique<PatternSource>(1 << 20, std::make_shared<std::atomic<uint64_t>>(0)),
      Completion::callback(done));
  ASSERT_TRUE(done->wait()) << "a snapshot to an unknown peer never completed";
  EXPECT_FALSE(done->status().ok());
}

// A peer that stops and comes back on the same address gets the frames sent after its return.
TEST_P(TransportConformance, AStoppedPeerIsReachedAgainWhenItComesBack) {
  Member* a = start(1);
  Member* b = start(2);
  ASSERT_TRUE(a && b);
  connect({a, b});
  int seq[2] = {0, 0};
  for (Lane lane : kLanes)
    a->transport->send(b->id, numbered(a->id, lane, seq[lane == Lane::kBulk]++), lane);
  ASSERT_TRUE(b->handler.wait_frames_from(a->id, 2));
  const std::string url = b->url;
  destroy(b);

  // Sent while nobody listens there: these may be lost, or wait for the new member.
  for (int i = 0; i < 20; ++i) {
    for (Lane lane : kLanes)
      a->transport->send(2, numbered(a->id, lane, seq[lane == Lane::kBulk]++), lane);
    std::this_thread::sleep_for(10ms);
  }

  // The port may be busy a moment after the old listener closed.
  Result<Member*> again = Status::Unavailable("not started");
  for (int attempt = 0; attempt < 50 && !again.ok(); ++attempt) {
    again = launch(2, 1, url);
    if (!again.ok()) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(again.ok()) << "restarting on " << url << ": " << again.status().to_string();
  Member* b2 = *again;
  EXPECT_EQ(b2->url, url);
  ASSERT_TRUE(b2->transport->add_peer(a->id, {a->url}).ok());

  for (Lane lane : kLanes) {
    int& next = seq[lane == Lane::kBulk];
    ASSERT_GE(send_until_one_arrives(a, b2, lane, &next), 0)
        << "lane " << lane_char(lane) << ": no frame reached the restarted member";
    // Reconnected: what follows arrives, all of it, in order.
    const int from = next;
    for (int i = 0; i < 100; ++i) a->transport->send(b2->id, numbered(a->id, lane, next++), lane);
    bool all = b2->handler.wait_until([&](const Seen& s) {
      auto it = s.frames.find(a->id);
      return it != s.frames.end() && !sequence(it->second, lane).empty() &&
             sequence(it->second, lane).back() == next - 1;
    });
    std::vector<int> got = sequence(b2->handler.seen().frames[a->id], lane);
    EXPECT_TRUE(all) << "lane " << lane_char(lane)
                     << ": the last of 100 frames after the reconnect never arrived";
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end()) &&
                std::adjacent_find(got.begin(), got.end()) == got.end())
        << "lane " << lane_char(lane) << ": frames out of order or repeated";
    EXPECT_EQ(std::count_if(got.begin(), got.end(), [&](int s) { return s >= from; }), 100)
        << "lane " << lane_char(lane) << ": frames lost after the reconnect";
  }
}

// A peer that takes the connection and never reads: 200,000 frames of 4 KiB (800 MiB) are sent,
// every send() returns, the peer is reported unreachable, and memory stays far below the total.
TEST_P(TransportConformance, ABoundedQueueNeverBlocksTheSender) {
  constexpr size_t kFrames = 200000;
  constexpr size_t kSize = 4096;
  RawSocket silent(/*listen=*/true);
  ASSERT_TRUE(silent.ok());
  Member* a = start(1, 1, [](TransportOptions& o) {
    o.max_queued_frames_per_peer = 64;
    o.max_queued_bytes_per_peer = 256 << 10;
  });
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->transport->add_peer(9, {silent.url()}).ok());
  const uint64_t before = resident_bytes();
  must_return(
      "200,000 send() calls to a peer that reads nothing",
      [&] {
        for (size_t i = 0; i < kFrames; ++i) {
          a->transport->send(9, std::string(kSize, static_cast<char>(i)),
                             i % 2 ? Lane::kBulk : Lane::kControl);
        }
      },
      std::chrono::seconds(300));
  const uint64_t after = resident_bytes();
  EXPECT_TRUE(a->handler.wait_unreachable(9)) << "a full queue was never reported";
  ASSERT_GT(before, 0u) << "VmRSS unreadable";
  const uint64_t growth = after > before ? after - before : 0;
  EXPECT_LT(growth, kFrames * kSize / 2)
      << "the resident set grew by " << (growth >> 20)
      << " MiB while 800 MiB were sent to a peer that reads nothing";
}

// A frame over the receiver's max_frame_bytes never reaches its handler; the frames after it do.
TEST_P(TransportConformance, AFrameOverTheLimitIsDroppedAndTheNextOnesArrive) {
  Member* a = start(1);
  Member* b = start(2, 1, [](TransportOptions& o) { o.max_frame_bytes = 1 << 20; });
  ASSERT_TRUE(a && b);
  connect({a, b});
  int seq[2] = {0, 0};
  for (Lane lane : kLanes) {
    int& next = seq[lane == Lane::kBulk];
    ASSERT_GE(send_until_one_arrives(a, b, lane, &next), 0) << "lane " << lane_char(lane);
    a->transport->send(b->id, pattern(2 << 20), lane);
    ASSERT_GE(send_until_one_arrives(a, b, lane, &next), 0)
        << "lane " << lane_char(lane) << ": nothing arrived after a frame over the limit";
    // Frames of a lane arrive in order, so had the big one come it would be here by now.
    Seen seen = b->handler.seen();
    for (const auto& f : seen.frames[a->id]) {
      EXPECT_LE(f.size(), 1u << 20) << "lane " << lane_char(lane) << ": a frame of " << f.size()
                                    << " bytes reached a handler whose limit is 1 MiB";
    }
  }
}

// A connection from another cluster, or meant for another member, is refused and logged; the
// sender reports the peer unreachable and nothing reaches the receiver's handler.
TEST_P(TransportConformance, AnotherClusterOrAnotherMemberIsRefused) {
  Member* a = start(1, /*cluster_id=*/1);
  Member* b = start(2, /*cluster_id=*/2);
  Member* c = start(3, /*cluster_id=*/1);
  ASSERT_TRUE(a && b && c);
  connect({a, b});
  connect({a, c});
  // A works: its own cluster's member hears it.
  a->transport->send(c->id, "same cluster", Lane::kControl);
  ASSERT_TRUE(c->handler.wait_frames_from(a->id, 1));

  for (Lane lane : kLanes) a->transport->send(b->id, "other cluster", lane);
  EXPECT_TRUE(a->handler.wait_unreachable(b->id)) << "a peer of another cluster was not reported";
  EXPECT_TRUE(logger_.wait_for_line("cluster ID mismatch")) << "log:\n" << logger_.all_lines();
  EXPECT_EQ(b->handler.seen().frame_count, 0u) << "a frame crossed from another cluster";

  // A believes member 7 lives at C's address.
  ASSERT_TRUE(a->transport->add_peer(7, {c->url}).ok());
  for (Lane lane : kLanes) a->transport->send(7, "for member 7", lane);
  EXPECT_TRUE(a->handler.wait_unreachable(7))
      << "a peer answering as another member was not reported";
  EXPECT_TRUE(logger_.wait_for_line("member ID mismatch")) << "log:\n" << logger_.all_lines();
  Seen at_c = c->handler.seen();
  EXPECT_EQ(at_c.frame_count, 1u) << "a frame meant for member 7 reached member 3";
  EXPECT_EQ(at_c.frames[a->id], std::vector<std::string>{"same cluster"});
}

// A 64 MiB snapshot to a handler that stops reading after 1 MiB: the sender reads its source no
// further than 32 MiB ahead, control frames still arrive; released, every byte arrives and done
// says OK. A snapshot the handler refuses ends with an error at the sender.
TEST_P(TransportConformance, ASnapshotStreamsWithBackPressureBesideTheMessages) {
  constexpr uint64_t kSize = 64 << 20;
  constexpr uint64_t kFirst = 1 << 20;
  constexpr uint64_t kAhead = 32 << 20;
  const std::string kMeta = std::string("meta\0data", 9) + pattern(1000, 7);
  Member* a = start(1);
  Member* b = start(2);
  ASSERT_TRUE(a && b);
  connect({a, b});
  auto progress = std::make_shared<SnapshotProgress>();
  Latch& latch = latch_;
  b->handler.set_snapshot_fn(
      [progress, &latch](MemberId from, std::string_view metadata, ByteSource& data) -> Status {
        {
          std::lock_guard<std::mutex> lock(progress->mu);
          progress->from = from;
          progress->metadata = std::string(metadata);
        }
        Status s = read_pattern(data, *progress, kFirst);
        progress->set_phase(SnapshotProgress::kBlocked);
        if (s.ok()) {
          if (!latch.wait())
            return Status::DeadlineExceeded("the test never released the snapshot");
          s = read_pattern(data, *progress, UINT64_MAX);
        }
        progress->set_phase(SnapshotProgress::kReturned);
        return s;
      });
  auto source_read = std::make_shared<std::atomic<uint64_t>>(0);
  auto done = std::make_shared<Completion>();
  a->transport->send_snapshot(b->id, kMeta, std::make_unique<PatternSource>(kSize, source_read),
                              Completion::callback(done));
  ASSERT_TRUE(progress->wait_phase(SnapshotProgress::kBlocked))
      << "the snapshot never reached the handler";

  // Heartbeats flow while the snapshot waits for its reader.
  for (int i = 0; i < 100; ++i)
    a->transport->send(b->id, numbered(a->id, Lane::kControl, i), Lane::kControl);
  EXPECT_TRUE(b->handler.wait_frames_from(a->id, 100))
      << "control frames held up by a snapshot: " << b->handler.seen().frames_from(a->id)
      << " of 100 arrived";
  std::this_thread::sleep_for(500ms);  // room for a sender without back-pressure to run ahead
  EXPECT_LE(source_read->load(), progress->bytes + kAhead)
      << "the sender read " << (source_read->load() >> 20)
      << " MiB of its source while the receiver took " << (progress->bytes >> 20) << " MiB";
  EXPECT_EQ(done->calls(), 0) << "done before the receiver finished: "
                              << done->status().to_string();

  latch_.open();
  ASSERT_TRUE(done->wait()) << "done never called; the receiver read " << progress->bytes
                            << " bytes";
  EXPECT_TRUE(done->status().ok()) << done->status().to_string();
  EXPECT_EQ(progress->current_phase(), SnapshotProgress::kReturned)
      << "done came before the handler's answer";
  EXPECT_EQ(progress->bytes.load(), kSize);
  EXPECT_TRUE(progress->ended.load()) << "the stream never ended";
  EXPECT_FALSE(progress->read_failed.load());
  EXPECT_EQ(progress->mismatches.load(), 0u) << "snapshot bytes changed on the way";
  {
    std::lock_guard<std::mutex> lock(progress->mu);
    EXPECT_EQ(progress->from, a->id);
    EXPECT_TRUE(progress->metadata == kMeta) << "the metadata changed on the way";
  }

  b->handler.set_snapshot_fn(
      [](MemberId, std::string_view, ByteSource&) { return Status::FailedPrecondition("no"); });
  auto refused = std::make_shared<Completion>();
  a->transport->send_snapshot(
      b->id, "refused",
      std::make_unique<PatternSource>(4 << 20, std::make_shared<std::atomic<uint64_t>>(0)),
      Completion::callback(refused));
  ASSERT_TRUE(refused->wait()) << "done never called for a refused snapshot";
  EXPECT_FALSE(refused->status().ok()) << "a snapshot the receiver refused was reported OK";
  EXPECT_EQ(done->calls(), 1) << "done called more than once";
  EXPECT_EQ(refused->calls(), 1) << "done called more than once";
}

// The sender stops with frames queued and a snapshot in flight: the snapshot's done is called
// once, with Cancelled, before stop() returns; stop() again is fine; the receiver's read of the
// cut stream fails rather than ending as if complete.
TEST_P(TransportConformance, StoppingTheSenderCancelsWhatIsInFlight) {
  Member* a = start(1);
  Member* b = start(2);
  ASSERT_TRUE(a && b);
  connect({a, b});
  auto [progress, done] = send_big_snapshot(a, b);
  for (int i = 0; i < 5000; ++i)
    a->transport->send(b->id, pattern(1024, i), i % 2 ? Lane::kBulk : Lane::kControl);
  ASSERT_TRUE(eventually([&] { return progress->bytes >= (1u << 20); }))
      << "the snapshot never started flowing: " << progress->bytes << " bytes read";

  must_return("stop() with a snapshot in flight", [&] { a->transport->stop(); });
  EXPECT_EQ(done->calls(), 1) << "done must be called once before stop() returns";
  EXPECT_EQ(done->status().code(), Status::Code::kCancelled) << done->status().to_string();
  must_return("a second stop()", [&] { a->transport->stop(); });
  destroy(a);
  EXPECT_TRUE(progress->wait_phase(SnapshotProgress::kReturned))
      << "the receiver's handler never returned";
  EXPECT_FALSE(progress->ended.load())
      << "a stream cut at " << progress->bytes << " of " << kBigSnapshot << " bytes read as complete";
  EXPECT_EQ(progress->mismatches.load(), 0u);
  EXPECT_EQ(done->calls(), 1) << "done called again after stop()";
}

// The receiver stops mid-snapshot: its handler has returned by the time stop() does (its reads
// fail), and the sender's done reports an error. Nothing hangs.
TEST_P(TransportConformance, StoppingTheReceiverFailsTheSnapshot) {
  Member* a = start(1);
  Member* b = start(2);
  ASSERT_TRUE(a && b);
  connect({a, b});
  auto [progress, done] = send_big_snapshot(a, b);
  ASSERT_TRUE(eventually([&] { return progress->bytes >= (1u << 20); }))
      << "the snapshot never started flowing: " << progress->bytes << " bytes read";

  must_return("the receiver's stop() during a snapshot", [&] { b->transport->stop(); });
  EXPECT_EQ(progress->current_phase(), SnapshotProgress::kReturned)
      << "stop() returned while the handler still ran";
  EXPECT_FALSE(progress->ended.load()) << "a stream cut by stop() read as complete";
  ASSERT_TRUE(done->wait()) << "the sender's done never came";
  EXPECT_FALSE(done->status().ok()) << "a snapshot the receiver never finished was reported OK";
  destroy(b);
  EXPECT_EQ(done->calls(), 1);
}

// start() refuses what it cannot serve: InvalidArgument for a URL it cannot parse or a scheme it
// does not speak, NotSupported for https without TLS, Unavailable for a port already taken.
TEST_P(TransportConformance, BadListenUrlsAreRefused) {
  expect_start_fails("http://127.0.0.1:notaport", Status::Code::kInvalidArgument);
  expect_start_fails("ftp://x", Status::Code::kInvalidArgument);
  expect_start_fails("https://127.0.0.1:0", Status::Code::kNotSupported);
  RawSocket taken(/*listen=*/true);
  ASSERT_TRUE(taken.ok());
  expect_start_fails(taken.url(), Status::Code::kUnavailable);
  // Taken by another transport of the same kind (which may share ports if it is let to).
  Member* a = start(1);
  ASSERT_NE(a, nullptr);
  expect_start_fails(a->url, Status::Code::kUnavailable);
}

// Asks `to` `question` from `from` and waits for the answer (bounded; a test fails on a false
// wait()). `timeout` is the introduction's own.
static std::shared_ptr<Introduced> ask(Transport& from, const std::string& to, std::string question,
                                       std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  auto got = std::make_shared<Introduced>();
  must_return("introduce()", [&] {
    from.introduce(to, std::move(question), timeout, Introduced::callback(got));
  });
  EXPECT_TRUE(got->wait()) << "an introduction to " << to << " never completed";
  return got;
}

// A newcomer started with no ids at all (member 0 of cluster 0) asks a running member of another
// cluster, which it never added as a peer: the member's handler hears the question, and its answer
// comes back byte for byte. So does a member of yet another cluster with ids of its own, and an
// empty question, and one of 300 KiB with every byte value, and a question with no time limit.
TEST_P(TransportConformance, AnIntroductionNeedsNoIds) {
  Member* x = start(7, /*cluster_id=*/0xc1);
  Member* newcomer = start(0, /*cluster_id=*/0);
  Member* other = start(9, /*cluster_id=*/0xdead);
  ASSERT_TRUE(x && newcomer && other);
  auto got = ask(*newcomer->transport, x->url, "who is there?");
  ASSERT_EQ(got->code(), Status::Code::kOk) << got->describe();
  EXPECT_EQ(*got->result(), "re:who is there?");
  EXPECT_EQ(got->calls(), 1);
  EXPECT_EQ(x->handler.seen().questions, std::vector<std::string>{"who is there?"});

  const std::string binary = std::string("\0\xff\n", 3) + pattern(300 << 10, 5);
  for (Member* asker : {newcomer, other}) {
    for (const std::string& question : {std::string(), binary}) {
      auto answer = ask(*asker->transport, x->url, question);
      ASSERT_EQ(answer->code(), Status::Code::kOk) << "member " << asker->id << ": " << answer->describe();
      EXPECT_TRUE(*answer->result() == "re:" + question)
          << "member " << asker->id << ": the answer to " << question.size() << " bytes changed on the way";
    }
  }
  Seen seen = x->handler.seen();
  ASSERT_EQ(seen.questions.size(), 5u);
  EXPECT_TRUE(seen.questions[4] == binary) << "the question changed on the way";
  EXPECT_EQ(seen.frame_count, 0u);
  EXPECT_EQ(x->handler.seen().unreachable.size(), 0u);
  // A timeout of "forever" is no overflow.
  auto forever = ask(*newcomer->transport, x->url, "still there?", std::chrono::milliseconds::max());
  EXPECT_EQ(forever->code(), Status::Code::kOk) << forever->describe();
}

// A handler's refusal reaches the asker with its code and message as they were returned, codes
// outside gRPC's numbering (IOError) included.
TEST_P(TransportConformance, AnIntroductionRefusedComesBackWithTheHandlersStatus) {
  Member* x = start(7, 0xc1);
  Member* newcomer = start(0, 0);
  ASSERT_TRUE(x && newcomer);
  x->handler.set_introduction_fn([](std::string_view question) -> Result<std::string> {
    if (question == "disk") return Status::IOError("fsync failed: no space left on device");
    return Status::FailedPrecondition("not yet: " + std::string(question) + " \xe2\x9c\x93");
  });
  auto got = ask(*newcomer->transport, x->url, "cluster?");
  ASSERT_TRUE(got->calls() == 1 && !got->result().ok()) << got->describe();
  EXPECT_EQ(got->result().status(), Status::FailedPrecondition("not yet: cluster? \xe2\x9c\x93"))
      << got->describe();
  got = ask(*newcomer->transport, x->url, "disk");
  ASSERT_FALSE(got->result().ok());
  EXPECT_EQ(got->result().status(), Status::IOError("fsync failed: no space left on device"))
      << got->describe();
}

// Nothing listening, or a listener that never answers: Unavailable, once, within the bound.
TEST_P(TransportConformance, AnIntroductionNobodyAnswersIsUnavailable) {
  Member* newcomer = start(0, 0);
  ASSERT_NE(newcomer, nullptr);
  std::string dead_url;
  {
    RawSocket closed(/*listen=*/false);
    ASSERT_TRUE(closed.ok());
    dead_url = closed.url();
  }
  auto got = ask(*newcomer->transport, dead_url, "anyone?", 2s);
  EXPECT_EQ(got->code(), Status::Code::kUnavailable) << got->describe();
  RawSocket silent(/*listen=*/true);
  ASSERT_TRUE(silent.ok());
  got = ask(*newcomer->transport, silent.url(), "anyone?", 300ms);
  EXPECT_EQ(got->code(), Status::Code::kUnavailable) << got->describe();
  EXPECT_EQ(got->calls(), 1);
}

// A URL the transport cannot parse: InvalidArgument.
TEST_P(TransportConformance, AnIntroductionToAMalformedUrlIsInvalidArgument) {
  Member* newcomer = start(0, 0);
  ASSERT_NE(newcomer, nullptr);
  for (const std::string url : {"127.0.0.1:2380", "http://127.0.0.1:notaport", "ftp://x:1", "http://[::1:80"}) {
    auto got = ask(*newcomer->transport, url, "q");
    EXPECT_EQ(got->code(), Status::Code::kInvalidArgument) << url << ": " << got->describe();
  }
}

// stop() with an introduction waiting on a listener that never answers: its done has run, once,
// when stop() returns, with Cancelled (or Unavailable, had it given up first). An introduction
// asked after stop() is Cancelled at once.
TEST_P(TransportConformance, StoppingEndsAnIntroductionInFlight) {
  RawSocket silent(/*listen=*/true);
  ASSERT_TRUE(silent.ok());
  Member* newcomer = start(0, 0);
  ASSERT_NE(newcomer, nullptr);
  auto got = std::make_shared<Introduced>();
  newcomer->transport->introduce(silent.url(), "anyone?", std::chrono::seconds(120),
                                 Introduced::callback(got));
  ASSERT_TRUE(silent.wait_pending_connection()) << "the introduction never connected";
  must_return("stop() with an introduction in flight", [&] { newcomer->transport->stop(); });
  EXPECT_EQ(got->calls(), 1) << "done must have run once when stop() returns";
  EXPECT_TRUE(got->code() == Status::Code::kCancelled || got->code() == Status::Code::kUnavailable)
      << got->describe();

  auto late = std::make_shared<Introduced>();
  must_return("introduce() after stop()", [&] {
    newcomer->transport->introduce(silent.url(), "late", 1s, Introduced::callback(late));
  });
  EXPECT_EQ(late->calls(), 1) << "an introduction after stop() must complete at once";
  EXPECT_EQ(late->code(), Status::Code::kCancelled) << late->describe();
  destroy(newcomer);
  EXPECT_EQ(got->calls(), 1) << "done called again after stop()";
  EXPECT_EQ(late->calls(), 1);
}

// A question over the receiver's max_frame_bytes (just over it, and twice it) is refused with
// ResourceExhausted rather than left hanging, and never reaches the handler; the receiver then
// answers the next one.
TEST_P(TransportConformance, AQuestionOverTheLimitIsRefusedAndTheNextOneAnswered) {
  Member* x = start(7, 0xc1, [](TransportOptions& o) { o.max_frame_bytes = 1 << 20; });
  Member* newcomer = start(0, 0);
  ASSERT_TRUE(x && newcomer);
  for (size_t size : {size_t{(1 << 20) + 1}, size_t{2 << 20}}) {
    auto got = ask(*newcomer->transport, x->url, pattern(size));
    EXPECT_EQ(got->code(), Status::Code::kResourceExhausted) << size << " bytes: " << got->describe();
  }
  auto got = ask(*newcomer->transport, x->url, "small");
  ASSERT_EQ(got->code(), Status::Code::kOk) << got->describe();
  EXPECT_EQ(*got->result(), "re:small");
  EXPECT_EQ(x->handler.seen().questions, std::vector<std::string>{"small"});
}

INSTANTIATE_TEST_SUITE_P(Plugins, TransportConformance, ::testing::Values("tcp", "grpc"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace keel::testing
