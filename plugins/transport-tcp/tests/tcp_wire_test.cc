// transport-tcp's own wire, spoken by raw sockets on 127.0.0.1: what the shared transport
// conformance suite (tests/plugins/transport) cannot see through the Transport interface. The
// plugin is loaded through the plugin host, as keeld loads it; wire_format.h is the spec checked.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keel/plugin.h"
#include "plugin_host/plugin_host.h"
#include "wire_format.h"

namespace keel::tcp {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr uint64_t kCluster = 0xc1;
constexpr MemberId kLocal = 0xa1;
constexpr auto kWait = 20s;  // generous: a failed wait fails the test, it never passes one

// Keeps every line, so a test can look for one.
class RecordingLogger : public Logger {
 public:
  void log(LogLevel level, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(level, std::string(message));
    cv_.notify_all();
  }
  // Waits for a line at `level` containing every one of `parts`.
  bool wait_for(LogLevel level, const std::vector<std::string>& parts) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] {
      for (const auto& [l, m] : lines_) {
        if (l != level) continue;
        bool all = true;
        for (const auto& p : parts) all = all && m.find(p) != std::string::npos;
        if (all) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<LogLevel, std::string>> lines_;
};

// Records what the transport delivers. A snapshot's data is read to its end (or error).
class RecordingHandler : public TransportHandler {
 public:
  void on_message(MemberId from, std::string frame) override {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.emplace_back(from, std::move(frame));
    cv_.notify_all();
  }
  void on_unreachable(MemberId peer) override {
    std::lock_guard<std::mutex> lock(mu_);
    unreachable_.push_back(peer);
    cv_.notify_all();
  }
  Status on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) override {
    std::string got;
    Status read_status;
    char buf[1000];
    for (;;) {
      Result<size_t> n = data.read(buf, sizeof(buf));
      if (!n.ok()) {
        read_status = n.status();
        break;
      }
      if (*n == 0) break;
      got.append(buf, *n);
    }
    std::lock_guard<std::mutex> lock(mu_);
    snapshots_.push_back(Snapshot{from, std::string(metadata), got, read_status});
    cv_.notify_all();
    return snapshot_answer_;
  }

  struct Snapshot {
    MemberId from;
    std::string metadata;
    std::string data;
    Status read_status;
  };

  bool wait_messages(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return messages_.size() >= n; });
  }
  bool wait_unreachable(MemberId peer) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] {
      for (MemberId p : unreachable_) {
        if (p == peer) return true;
      }
      return false;
    });
  }
  bool wait_snapshots(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return snapshots_.size() >= n; });
  }
  std::vector<std::pair<MemberId, std::string>> messages() {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }
  std::vector<Snapshot> snapshots() {
    std::lock_guard<std::mutex> lock(mu_);
    return snapshots_;
  }
  void set_snapshot_answer(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_answer_ = std::move(s);
  }
  // Introductions: answered "re:" and the question, or refused with `s` once set.
  Result<std::string> on_introduction(std::string_view question) override {
    std::lock_guard<std::mutex> lock(mu_);
    questions_.emplace_back(question);
    if (!introduction_refusal_.ok()) return introduction_refusal_;
    return "re:" + std::string(question);
  }
  void set_introduction_refusal(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    introduction_refusal_ = std::move(s);
  }
  std::vector<std::string> questions() {
    std::lock_guard<std::mutex> lock(mu_);
    return questions_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<MemberId, std::string>> messages_;
  std::vector<MemberId> unreachable_;
  std::vector<Snapshot> snapshots_;
  Status snapshot_answer_;
  std::vector<std::string> questions_;
  Status introduction_refusal_;
};

// A blocking socket with a receive timeout, so a test that waits in vain fails instead of hanging.
class RawSocket {
 public:
  RawSocket() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) { set_timeout(); }
  explicit RawSocket(int fd) : fd_(fd) { set_timeout(); }
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connect(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  bool write(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t w = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (w <= 0) return false;
      done += static_cast<size_t>(w);
    }
    return true;
  }
  // Exactly `n` bytes, or fewer if the peer closed or the wait timed out.
  std::string read(size_t n) {
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::recv(fd_, out.data() + got, n - got, 0);
      if (r <= 0) break;
      got += static_cast<size_t>(r);
    }
    out.resize(got);
    return out;
  }
  // A status answer (snapshots, introductions): its code and bytes; code -1 if none came.
  std::pair<int, std::string> read_status_answer() {
    std::string head = read(kStatusAnswerHeaderBytes);
    if (head.size() != kStatusAnswerHeaderBytes) return {-1, "no answer"};
    return {static_cast<uint8_t>(head[0]), read(get_u32(head.data() + 1))};
  }
  // True if the peer closed (rather than the wait running out or the connection breaking).
  bool closed_by_peer() {
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }
  // The receiver's answer to a preface: its code and text.
  std::pair<int, std::string> read_answer() {
    std::string head = read(kAnswerHeaderBytes);
    if (head.size() != kAnswerHeaderBytes) return {-1, "no answer"};
    return {static_cast<uint8_t>(head[0]), read(get_u16(head.data() + 1))};
  }
  int fd() const { return fd_; }

 private:
  void set_timeout() {
    timeval tv{static_cast<time_t>(kWait.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  int fd_;
};

std::string preface(ConnectionKind kind, uint64_t cluster, MemberId from, MemberId to) {
  char p[kPrefaceBytes];
  encode_preface(Preface{kVersion, static_cast<uint8_t>(kind), cluster, from, to}, p);
  return std::string(p, sizeof(p));
}

std::string u32(uint32_t v) {
  char b[4];
  put_u32(b, v);
  return std::string(b, 4);
}

std::string frame(const std::string& body) { return u32(static_cast<uint32_t>(body.size())) + body; }

// The resident set of this process, in bytes (0 if unreadable).
uint64_t resident_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  int n = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return n == 2 ? resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

uint16_t port_of(const std::string& url) {
  return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A raw listener on 127.0.0.1 playing a peer.
class RawListener {
 public:
  RawListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    timeval tv{static_cast<time_t>(kWait.count()), 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));  // bounds accept() too
  }
  ~RawListener() { ::close(fd_); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // The next connection, or nullptr when none came in time.
  std::unique_ptr<RawSocket> accept() {
    int fd = ::accept(fd_, nullptr, nullptr);
    return fd < 0 ? nullptr : std::make_unique<RawSocket>(fd);
  }

 private:
  int fd_;
  uint16_t port_ = 0;
};

class TcpWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_host::PluginHost host({KEEL_PLUGIN_BUILD_DIR});
    Result<plugin_host::LoadedPlugin> p = host.resolve(PluginKind::kTransport, "tcp");
    ASSERT_TRUE(p.ok()) << p.status().to_string();
    plugin_ = std::move(p).value();
  }

  Result<std::unique_ptr<TransportPlugin>> make_engine(PluginConfig settings) {
    return plugin_host::create_transport(*plugin_, PluginContext{settings, logger_});
  }

  // Starts the transport under test on a free port of 127.0.0.1.
  void start(size_t max_frame_bytes = 16u << 20, size_t max_queued_frames = 4096) {
    auto engine = make_engine(PluginConfig("transport.tcp"));
    ASSERT_TRUE(engine.ok()) << engine.status().to_string();
    engine_ = std::move(engine).value();
    TransportOptions o;
    o.local_id = kLocal;
    o.cluster_id = kCluster;
    o.listen_urls = {"http://127.0.0.1:0"};
    o.handler = &handler_;
    o.max_frame_bytes = max_frame_bytes;
    o.max_queued_frames_per_peer = max_queued_frames;
    auto t = engine_->start(o);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    transport_ = std::move(t).value();
    ASSERT_EQ(transport_->listen_urls().size(), 1u);
    port_ = port_of(transport_->listen_urls()[0]);
    ASSERT_NE(port_, 0);
  }

  // A raw connection that has passed the handshake as member `from`.
  std::unique_ptr<RawSocket> connect_as(MemberId from, ConnectionKind kind) {
    auto s = std::make_unique<RawSocket>();
    EXPECT_TRUE(s->connect(port_));
    EXPECT_TRUE(s->write(preface(kind, kCluster, from, kLocal)));
    auto [code, text] = s->read_answer();
    EXPECT_EQ(code, static_cast<int>(Answer::kOk)) << text;
    return s;
  }

  void TearDown() override {
    if (transport_) transport_->stop();
  }

  RecordingLogger logger_;
  RecordingHandler handler_;
  std::optional<plugin_host::LoadedPlugin> plugin_;
  std::unique_ptr<TransportPlugin> engine_;
  std::unique_ptr<Transport> transport_;
  uint16_t port_ = 0;
};

TEST_F(TcpWireTest, AnotherClusterIsRefusedWithTheReasonAndBothIdsLogged) {
  start();
  RawSocket s;
  ASSERT_TRUE(s.connect(port_));
  ASSERT_TRUE(s.write(preface(ConnectionKind::kControl, 0xdead, 0xb2, kLocal)));
  auto [code, text] = s.read_answer();
  EXPECT_EQ(code, static_cast<int>(Answer::kClusterIdMismatch));
  EXPECT_THAT(text, HasSubstr("cluster ID mismatch"));
  EXPECT_THAT(text, HasSubstr("c1"));
  EXPECT_THAT(text, HasSubstr("dead"));
  EXPECT_EQ(s.read(1), "") << "the receiver closes a refused connection";
  EXPECT_TRUE(logger_.wait_for(LogLevel::kError, {"cluster ID mismatch", "c1", "dead"}));
  // Nothing it sent is delivered.
  EXPECT_TRUE(handler_.messages().empty());
}

TEST_F(TcpWireTest, AConnectionMeantForAnotherMemberIsRefused) {
  start();
  RawSocket s;
  ASSERT_TRUE(s.connect(port_));
  ASSERT_TRUE(s.write(preface(ConnectionKind::kBulk, kCluster, 0xb2, 0xbeef) + frame("lost")));
  auto [code, text] = s.read_answer();
  EXPECT_EQ(code, static_cast<int>(Answer::kMemberIdMismatch));
  EXPECT_THAT(text, HasSubstr("member ID mismatch"));
  EXPECT_THAT(text, HasSubstr("a1"));
  EXPECT_THAT(text, HasSubstr("beef"));
  EXPECT_TRUE(logger_.wait_for(LogLevel::kError, {"member ID mismatch", "a1", "beef"}));
  EXPECT_TRUE(handler_.messages().empty());
}

TEST_F(TcpWireTest, NotOurProtocolIsRefused) {
  start();
  RawSocket s;
  ASSERT_TRUE(s.connect(port_));
  ASSERT_TRUE(s.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n     "));
  auto [code, text] = s.read_answer();
  EXPECT_EQ(code, static_cast<int>(Answer::kBadPreface)) << text;
  std::string p = preface(ConnectionKind::kControl, kCluster, 0xb2, kLocal);
  p[4] = 9;  // a version from the future
  RawSocket s2;
  ASSERT_TRUE(s2.connect(port_));
  ASSERT_TRUE(s2.write(p));
  EXPECT_EQ(s2.read_answer().first, static_cast<int>(Answer::kBadPreface));
}

TEST_F(TcpWireTest, FramesSplitAnyWayArriveWholeAndInOrder) {
  start();
  auto s = connect_as(0xb2, ConnectionKind::kControl);
  // Many small frames in one write, an empty one, and one larger than the read buffer, written
  // a few bytes at a time around its header.
  std::string bytes;
  std::vector<std::string> sent;
  for (int i = 0; i < 500; ++i) sent.push_back("frame-" + std::to_string(i));
  sent.push_back("");
  std::string big(300 << 10, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i % 26);
  sent.push_back(big);
  sent.push_back("after-big");
  for (const auto& f : sent) bytes += frame(f);
  for (size_t at = 0; at < bytes.size();) {
    size_t n = std::min<size_t>(at < 4000 ? 3 : 70000, bytes.size() - at);
    ASSERT_TRUE(s->write(bytes.substr(at, n)));
    at += n;
  }
  ASSERT_TRUE(handler_.wait_messages(sent.size()));
  auto got = handler_.messages();
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].first, 0xb2u);
    EXPECT_EQ(got[i].second, sent[i]) << "frame " << i;
  }
}

TEST_F(TcpWireTest, AFrameOverTheLimitIsSkippedAndTheNextOnesArrive) {
  start(/*max_frame_bytes=*/1024);
  auto s = connect_as(0xb2, ConnectionKind::kBulk);
  std::string junk(200 << 10, 'j');  // far over the limit, and over the read buffer too
  ASSERT_TRUE(s->write(frame("before") + frame(junk) + frame(std::string(1024, 'k')) + frame("after")));
  ASSERT_TRUE(handler_.wait_messages(3));
  auto got = handler_.messages();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].second, "before");
  EXPECT_EQ(got[1].second, std::string(1024, 'k'));  // exactly at the limit is fine
  EXPECT_EQ(got[2].second, "after");
  EXPECT_TRUE(logger_.wait_for(LogLevel::kWarn, {"dropped a frame of 204800 bytes", "max_frame_bytes"}));
}

TEST_F(TcpWireTest, AHeaderClaimingFourGiBIsNeverAllocated) {
  start();  // the default limit, 16 MiB
  const uint64_t before = resident_bytes();
  {
    auto s = connect_as(0xb2, ConnectionKind::kControl);
    ASSERT_TRUE(s->write(frame("before") + u32(0xFFFFFFFFu) + "only a few bytes of it"));
    ASSERT_TRUE(handler_.wait_messages(1));
  }
  // The sender gives up on that connection; a new one delivers.
  auto s = connect_as(0xb2, ConnectionKind::kControl);
  ASSERT_TRUE(s->write(frame("after")));
  ASSERT_TRUE(handler_.wait_messages(2));
  auto got = handler_.messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second, "before");
  EXPECT_EQ(got[1].second, "after");
  // The skipping path said so; a frame allocated (and zero-filled) would have shown in the RSS.
  EXPECT_TRUE(logger_.wait_for(LogLevel::kWarn, {"dropped a frame of 4294967295 bytes"}));
  const uint64_t after = resident_bytes();
  ASSERT_GT(before, 0u) << "/proc/self/statm unreadable";
  EXPECT_LT(after > before ? after - before : 0, uint64_t{256} << 20);
}

TEST_F(TcpWireTest, TheSenderSpeaksTheDocumentedPrefaceAndFrames) {
  start();
  RawListener peer;
  ASSERT_TRUE(transport_->add_peer(0xb2, {peer.url()}).ok());
  transport_->send(0xb2, "c1", Lane::kControl);
  transport_->send(0xb2, "b1", Lane::kBulk);
  std::unique_ptr<RawSocket> conns[2] = {peer.accept(), peer.accept()};
  ASSERT_TRUE(conns[0] && conns[1]);
  RawSocket* control = nullptr;
  for (auto& c : conns) {
    std::string p = c->read(kPrefaceBytes);
    ASSERT_EQ(p.size(), kPrefaceBytes);
    Preface got;
    ASSERT_TRUE(decode_preface(p.data(), &got));
    EXPECT_EQ(got.version, kVersion);
    EXPECT_EQ(got.cluster_id, kCluster);
    EXPECT_EQ(got.sender_id, kLocal);
    EXPECT_EQ(got.receiver_id, 0xb2u);
    ASSERT_TRUE(c->write(encode_answer(Answer::kOk, "")));
    std::string header = c->read(4);
    ASSERT_EQ(header.size(), 4u);
    std::string body = c->read(get_u32(header.data()));
    if (got.kind == static_cast<uint8_t>(ConnectionKind::kControl)) {
      EXPECT_EQ(body, "c1");
      control = c.get();
    } else {
      EXPECT_EQ(got.kind, static_cast<uint8_t>(ConnectionKind::kBulk));
      EXPECT_EQ(body, "b1");
    }
  }
  ASSERT_NE(control, nullptr);
  // Later frames go down the same connection, in order.
  transport_->send(0xb2, "c2", Lane::kControl);
  transport_->send(0xb2, "c3", Lane::kControl);
  EXPECT_EQ(control->read(12), frame("c2") + frame("c3"));
}

// Checks, as frames arrive, that each is the next of a numbered sequence.
class SequenceChecker : public TransportHandler {
 public:
  void on_message(MemberId, std::string frame) override {
    const int expected = next_.load();
    if (frame != body(expected)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (bad_.empty()) bad_ = "frame " + std::to_string(expected) + " came as \"" + frame.substr(0, 60) + "\"";
    }
    next_.store(expected + 1);
  }
  void on_unreachable(MemberId) override {}
  Status on_snapshot(MemberId, std::string_view, ByteSource&) override { return Status::OK(); }

  static std::string body(int i) {
    std::string b = "seq " + std::to_string(i);
    b.resize(100, '.');
    return b;
  }
  int received() const { return next_.load(); }
  std::string bad() {
    std::lock_guard<std::mutex> lock(mu_);
    return bad_;
  }

 private:
  std::atomic<int> next_{0};
  std::mutex mu_;
  std::string bad_;
};

// Frames come out whole and in order however sends and writes interleave: the sender keeps a few
// thousand frames ahead of the receiver, so the connection goes idle and busy again and again,
// each time woken by a send (two writes in flight on one socket would tear frames apart).
TEST_F(TcpWireTest, FramesStayWholeAndInOrderAcrossIdleAndBusyTurns) {
  constexpr int kFrames = 500000;
  start();
  SequenceChecker checker;
  auto engine = make_engine(PluginConfig("transport.tcp"));
  ASSERT_TRUE(engine.ok());
  TransportOptions o;
  o.local_id = 0xb2;
  o.cluster_id = kCluster;
  o.listen_urls = {"http://127.0.0.1:0"};
  o.handler = &checker;
  auto receiver = (*engine)->start(o);
  ASSERT_TRUE(receiver.ok()) << receiver.status().to_string();
  ASSERT_TRUE(transport_->add_peer(0xb2, (*receiver)->listen_urls()).ok());
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (int i = 0; i < kFrames; ++i) {
    while (i - checker.received() > 3000) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "stuck after " << checker.received();
      std::this_thread::yield();
    }
    transport_->send(0xb2, SequenceChecker::body(i), Lane::kBulk);
  }
  while (checker.received() < kFrames && checker.bad().empty()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "stuck after " << checker.received();
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(checker.bad(), "");
  (*receiver)->stop();
}

TEST_F(TcpWireTest, ASenderRefusedByAnotherClusterReportsThePeerAndRetries) {
  start();
  RawListener peer;
  ASSERT_TRUE(transport_->add_peer(0xb2, {peer.url()}).ok());
  transport_->send(0xb2, "hello", Lane::kControl);
  auto c = peer.accept();
  ASSERT_TRUE(c);
  ASSERT_EQ(c->read(kPrefaceBytes).size(), kPrefaceBytes);
  ASSERT_TRUE(c->write(encode_answer(Answer::kClusterIdMismatch,
                                     "cluster ID mismatch: local cluster ID 99, remote cluster ID c1")));
  EXPECT_TRUE(handler_.wait_unreachable(0xb2));
  EXPECT_TRUE(logger_.wait_for(LogLevel::kError, {"cluster ID mismatch", "b2", "c1"}));
  c.reset();
  // It tries again (after its backoff) once there is something to send.
  transport_->send(0xb2, "again", Lane::kControl);
  auto again = peer.accept();
  ASSERT_TRUE(again);
  ASSERT_EQ(again->read(kPrefaceBytes).size(), kPrefaceBytes);
  ASSERT_TRUE(again->write(encode_answer(Answer::kOk, "")));
  // What was queued before the refusal was dropped: only the new frame comes.
  EXPECT_EQ(again->read(4 + 5), frame("again"));
}

TEST_F(TcpWireTest, ASnapshotStreamIsReadAsItArrivesAndAnswered) {
  start();
  handler_.set_snapshot_answer(Status::NotFound("no room for it"));
  auto s = connect_as(0xb2, ConnectionKind::kSnapshot);
  std::string data(150000, 's');
  std::string bytes = frame("meta") + frame(data.substr(0, 100000)) + frame(data.substr(100000)) + u32(kEndOfSnapshot);
  ASSERT_TRUE(s->write(bytes));
  ASSERT_TRUE(handler_.wait_snapshots(1));
  auto got = handler_.snapshots();
  EXPECT_EQ(got[0].from, 0xb2u);
  EXPECT_EQ(got[0].metadata, "meta");
  EXPECT_TRUE(got[0].read_status.ok()) << got[0].read_status.to_string();
  EXPECT_EQ(got[0].data, data);
  // The answer: u8 code, u32 length, message.
  std::string head = s->read(5);
  ASSERT_EQ(head.size(), 5u);
  EXPECT_EQ(static_cast<uint8_t>(head[0]), static_cast<uint8_t>(Status::Code::kNotFound));
  EXPECT_EQ(s->read(get_u32(head.data() + 1)), "no room for it");
}

TEST_F(TcpWireTest, ASnapshotTheSenderAbandonsIsAnErrorForTheReader) {
  start();
  auto s = connect_as(0xb2, ConnectionKind::kSnapshot);
  ASSERT_TRUE(s->write(frame("meta") + frame("part") + u32(kSnapshotAborted)));
  ASSERT_TRUE(handler_.wait_snapshots(1));
  auto got = handler_.snapshots();
  EXPECT_EQ(got[0].data, "part");
  EXPECT_FALSE(got[0].read_status.ok());
  // Cut mid-chunk: an error too, not a clean end.
  auto s2 = connect_as(0xb3, ConnectionKind::kSnapshot);
  ASSERT_TRUE(s2->write(frame("meta") + u32(100) + "only ten b"));
  s2.reset();
  ASSERT_TRUE(handler_.wait_snapshots(2));
  got = handler_.snapshots();
  EXPECT_EQ(got[1].data, "only ten b");
  EXPECT_FALSE(got[1].read_status.ok());
  EXPECT_EQ(got[1].read_status.code(), Status::Code::kUnavailable) << got[1].read_status.to_string();
}

// An introduction's asker knows no ids: whatever its preface says (here another cluster, meant
// for another member) is not checked. The question is one frame; the answer comes back as a
// status answer carrying the handler's answer, and the receiver closes.
TEST_F(TcpWireTest, AnIntroductionIgnoresThePrefaceIdsAndIsAnswered) {
  start();
  RawSocket s;
  ASSERT_TRUE(s.connect(port_));
  ASSERT_TRUE(s.write(preface(ConnectionKind::kIntroduce, 0xdead, 0x5, 0xbeef)));
  auto [code, text] = s.read_answer();
  ASSERT_EQ(code, static_cast<int>(Answer::kOk)) << text;
  ASSERT_TRUE(s.write(frame("who leads?")));
  auto [status, answer] = s.read_status_answer();
  EXPECT_EQ(status, static_cast<int>(Status::Code::kOk));
  EXPECT_EQ(answer, "re:who leads?");
  EXPECT_TRUE(s.closed_by_peer());
  EXPECT_EQ(handler_.questions(), std::vector<std::string>{"who leads?"});
  EXPECT_TRUE(handler_.messages().empty());

  // A refusal: its code and message.
  handler_.set_introduction_refusal(Status::FailedPrecondition("still joining"));
  RawSocket r;
  ASSERT_TRUE(r.connect(port_));
  ASSERT_TRUE(r.write(preface(ConnectionKind::kIntroduce, 0, 0, 0) + frame("")));
  ASSERT_EQ(r.read_answer().first, static_cast<int>(Answer::kOk));
  auto [refused, message] = r.read_status_answer();
  EXPECT_EQ(refused, static_cast<int>(Status::Code::kFailedPrecondition));
  EXPECT_EQ(message, "still joining");
}

// A question whose header claims 4 GiB is refused with ResourceExhausted, never allocated, and
// the handler never hears it; the next asker is answered.
TEST_F(TcpWireTest, AQuestionOverTheLimitIsRefusedUnread) {
  start(/*max_frame_bytes=*/1024);
  const uint64_t before = resident_bytes();
  {
    RawSocket s;
    ASSERT_TRUE(s.connect(port_));
    ASSERT_TRUE(s.write(preface(ConnectionKind::kIntroduce, 0, 0, 0) + u32(0xFFFFFFFFu) + "a few bytes"));
    ASSERT_EQ(s.read_answer().first, static_cast<int>(Answer::kOk));
    auto [code, message] = s.read_status_answer();
    EXPECT_EQ(code, static_cast<int>(Status::Code::kResourceExhausted)) << message;
    EXPECT_THAT(message, HasSubstr("4294967295 bytes is over max_frame_bytes (1024)"));
  }
  const uint64_t after = resident_bytes();
  ASSERT_GT(before, 0u) << "/proc/self/statm unreadable";
  EXPECT_LT(after > before ? after - before : 0, uint64_t{256} << 20);
  RawSocket next;
  ASSERT_TRUE(next.connect(port_));
  ASSERT_TRUE(next.write(preface(ConnectionKind::kIntroduce, 0, 0, 0) + frame(std::string(1024, 'q'))));
  ASSERT_EQ(next.read_answer().first, static_cast<int>(Answer::kOk));
  auto [code, answer] = next.read_status_answer();
  EXPECT_EQ(code, static_cast<int>(Status::Code::kOk)) << answer;
  EXPECT_EQ(answer, "re:" + std::string(1024, 'q'));
  EXPECT_EQ(handler_.questions(), std::vector<std::string>{std::string(1024, 'q')});
}

// The asker writes kind 3 with zeros for every id (whatever it was started with), waits for the
// OK, writes its question as one frame and takes the status answer: an answer, or a refusal.
TEST_F(TcpWireTest, TheAskerSpeaksTheDocumentedIntroduction) {
  start();
  RawListener peer;
  struct Got {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Result<std::string>> results;
    bool wait(size_t n) {
      std::unique_lock<std::mutex> lock(mu);
      return cv.wait_for(lock, kWait, [&] { return results.size() >= n; });
    }
  };
  auto got = std::make_shared<Got>();
  auto done = [got](Result<std::string> r) {
    std::lock_guard<std::mutex> lock(got->mu);
    got->results.push_back(std::move(r));
    got->cv.notify_all();
  };
  const std::pair<Status::Code, std::string> replies[] = {{Status::Code::kOk, "the answer"},
                                                          {Status::Code::kNotFound, "no such thing"}};
  for (const auto& [reply_code, reply] : replies) {
    transport_->introduce(peer.url(), "q?", std::chrono::seconds(60), done);
    auto c = peer.accept();
    ASSERT_TRUE(c);
    std::string p = c->read(kPrefaceBytes);
    ASSERT_EQ(p.size(), kPrefaceBytes);
    Preface sent;
    ASSERT_TRUE(decode_preface(p.data(), &sent));
    EXPECT_EQ(sent.version, kVersion);
    EXPECT_EQ(sent.kind, static_cast<uint8_t>(ConnectionKind::kIntroduce));
    EXPECT_EQ(sent.cluster_id, 0u);
    EXPECT_EQ(sent.sender_id, 0u);
    EXPECT_EQ(sent.receiver_id, 0u);
    ASSERT_TRUE(c->write(encode_answer(Answer::kOk, "")));
    EXPECT_EQ(c->read(4 + 2), frame("q?"));
    ASSERT_TRUE(c->write(encode_status_answer(reply_code, reply)));
  }
  ASSERT_TRUE(got->wait(2));
  std::lock_guard<std::mutex> lock(got->mu);
  ASSERT_TRUE(got->results[0].ok()) << got->results[0].status().to_string();
  EXPECT_EQ(*got->results[0], "the answer");
  ASSERT_FALSE(got->results[1].ok());
  EXPECT_EQ(got->results[1].status(), Status::NotFound("no such thing"));
}

// An asker that never asks is cut at the receiver's deadline, and the thread it held is let go.
TEST_F(TcpWireTest, AnIntroductionThatNeverAsksIsClosedAtTheDeadline) {
  static_assert(kWait > kIntroductionDeadline, "the wait must outlast the receiver's deadline");
  start();
  RawSocket s;
  ASSERT_TRUE(s.connect(port_));
  ASSERT_TRUE(s.write(preface(ConnectionKind::kIntroduce, 0, 0, 0)));
  ASSERT_EQ(s.read_answer().first, static_cast<int>(Answer::kOk));
  EXPECT_TRUE(s.closed_by_peer()) << "still open after the socket's " << kWait.count() << " s wait";
  EXPECT_TRUE(logger_.wait_for(LogLevel::kWarn, {"introduction", "timed out"}));
  EXPECT_TRUE(handler_.questions().empty());
}

// Introductions that never ask take at most kMaxInboundIntroductions threads: the next one is
// answered busy. stop() cuts the waiting ones at once.
TEST_F(TcpWireTest, SilentIntroductionsAreBoundedAndCutByStop) {
  start();
  std::vector<std::unique_ptr<RawSocket>> silent;
  for (size_t i = 0; i < kMaxInboundIntroductions; ++i) {
    silent.push_back(std::make_unique<RawSocket>());
    ASSERT_TRUE(silent.back()->connect(port_));
    ASSERT_TRUE(silent.back()->write(preface(ConnectionKind::kIntroduce, 0, 0, 0)));
    ASSERT_EQ(silent.back()->read_answer().first, static_cast<int>(Answer::kOk)) << i;
  }
  RawSocket one_more;
  ASSERT_TRUE(one_more.connect(port_));
  ASSERT_TRUE(one_more.write(preface(ConnectionKind::kIntroduce, 0, 0, 0)));
  auto [code, text] = one_more.read_answer();
  EXPECT_EQ(code, static_cast<int>(Answer::kBusy)) << text;
  // Well inside the receiver's deadline: only stop() closes them now.
  auto stopped = std::async(std::launch::async, [&] { transport_->stop(); });
  ASSERT_EQ(stopped.wait_for(kWait), std::future_status::ready) << "stop() hangs on silent introductions";
  for (auto& s : silent) EXPECT_TRUE(s->closed_by_peer());
}

TEST_F(TcpWireTest, SettingsAreCheckedAndUnknownKeysRefused) {
  auto bad = make_engine(PluginConfig("transport.tcp", {{"io_thread", "2"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("transport.tcp.io_thread"));
  auto zero = make_engine(PluginConfig("transport.tcp", {{"io_threads", "0"}}));
  EXPECT_FALSE(zero.ok());
  auto one = make_engine(PluginConfig("transport.tcp", {{"io_threads", "1"}, {"max_inbound_snapshots", "2"}}));
  ASSERT_TRUE(one.ok()) << one.status().to_string();
}

TEST_F(TcpWireTest, ListenUrlsItCannotServeAreRefused) {
  auto engine = make_engine(PluginConfig("transport.tcp"));
  ASSERT_TRUE(engine.ok());
  TransportOptions o;
  o.local_id = kLocal;
  o.cluster_id = kCluster;
  o.handler = &handler_;
  o.listen_urls = {"https://127.0.0.1:0"};
  auto tls = (*engine)->start(o);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().code(), Status::Code::kNotSupported);
  o.listen_urls = {"127.0.0.1:2380"};
  auto bad = (*engine)->start(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("127.0.0.1:2380"));
  RawListener taken;
  o.listen_urls = {taken.url()};
  auto busy = (*engine)->start(o);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), Status::Code::kUnavailable) << busy.status().to_string();
  o.listen_urls = {"http://[::1]:0", "http://localhost:0"};
  auto both = (*engine)->start(o);
  if (both.ok()) {  // a host without IPv6 cannot run this part
    auto urls = (*both)->listen_urls();
    ASSERT_EQ(urls.size(), 2u);
    EXPECT_THAT(urls[0], HasSubstr("http://[::1]:"));
    EXPECT_THAT(urls[1], HasSubstr("http://localhost:"));
    EXPECT_NE(port_of(urls[0]), 0);
  }
}

}  // namespace
}  // namespace keel::tcp
