// Helpers of the Transport conformance suite: a handler and a logger that record what reaches
// them, a snapshot source of known bytes and a reader that checks them, completion callbacks that
// record their calls, raw sockets for peers that never answer, and a bound on calls that must
// return.
//
// Every wait here is bounded (kWait unless said otherwise); a wait that runs out returns false and
// the test fails on it. Nothing measures how long something took.
#ifndef KEEL_TESTS_PLUGINS_TRANSPORT_TRANSPORT_TEST_UTIL_H_
#define KEEL_TESTS_PLUGINS_TRANSPORT_TRANSPORT_TEST_UTIL_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "keel/logger.h"
#include "keel/plugin.h"
#include "keel/transport.h"
#include "plugin_host/plugin_host.h"

namespace keel::testing {

using namespace std::chrono_literals;

// The transport plugin `name` found in `plugin_dir`, loaded as keeld loads it, and its engine made
// with `config` and `logger` (both must outlive the engine).
inline Result<std::unique_ptr<TransportPlugin>> load_transport(const std::string& plugin_dir,
                                                              const std::string& name,
                                                              const PluginConfig& config, Logger& logger) {
  plugin_host::PluginHost host({plugin_dir});
  Result<plugin_host::LoadedPlugin> p = host.resolve(PluginKind::kTransport, name);
  if (!p.ok()) return p.status();
  return plugin_host::create_transport(*p, PluginContext{config, logger});
}

// The bound of every wait for something a transport should do.
inline constexpr std::chrono::seconds kWait{30};

// Records every log line, so a test can look for the one the contract names.
class RecordingLogger : public Logger {
 public:
  void log(LogLevel, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(message);
    cv_.notify_all();
  }
  // True once a line containing `part` was logged; false if none was within the bound.
  bool wait_for_line(std::string_view part) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] {
      return std::any_of(lines_.begin(), lines_.end(),
                         [&](const std::string& l) { return l.find(part) != std::string::npos; });
    });
  }
  std::string all_lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : lines_) all += "  " + l + "\n";
    return all;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

// What a handler has seen so far.
struct Seen {
  std::map<MemberId, std::vector<std::string>> frames;  // per sender, in arrival order
  std::map<MemberId, int> unreachable;                  // reports per peer
  size_t frame_count = 0;
  std::vector<std::string> questions;                   // introductions, in arrival order

  size_t frames_from(MemberId m) const {
    auto it = frames.find(m);
    return it == frames.end() ? 0 : it->second.size();
  }
  int unreachable_reports(MemberId m) const {
    auto it = unreachable.find(m);
    return it == unreachable.end() ? 0 : it->second;
  }
};

// The test's TransportHandler: records frames, unreachable reports and introductions' questions;
// snapshots go to the function the test sets (by default they are read to their end and
// accepted), and so do introductions (by default answered "re:" and the question).
class Recorder : public TransportHandler {
 public:
  using SnapshotFn = std::function<Status(MemberId from, std::string_view metadata, ByteSource&)>;
  using IntroductionFn = std::function<Result<std::string>(std::string_view question)>;

  void on_message(MemberId from, std::string frame) override {
    std::lock_guard<std::mutex> lock(mu_);
    seen_.frames[from].push_back(std::move(frame));
    ++seen_.frame_count;
    cv_.notify_all();
  }
  void on_unreachable(MemberId peer) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++seen_.unreachable[peer];
    cv_.notify_all();
  }
  Status on_snapshot(MemberId from, std::string_view metadata, ByteSource& data) override {
    SnapshotFn fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fn = snapshot_fn_;
    }
    if (fn) return fn(from, metadata, data);
    std::vector<char> buf(64 << 10);
    for (;;) {
      Result<size_t> n = data.read(buf.data(), buf.size());
      if (!n.ok()) return n.status();
      if (*n == 0) return Status::OK();
    }
  }

  Result<std::string> on_introduction(std::string_view question) override {
    IntroductionFn fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen_.questions.emplace_back(question);
      fn = introduction_fn_;
      cv_.notify_all();
    }
    if (fn) return fn(question);
    return "re:" + std::string(question);
  }

  void set_snapshot_fn(SnapshotFn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    snapshot_fn_ = std::move(fn);
  }
  void set_introduction_fn(IntroductionFn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    introduction_fn_ = std::move(fn);
  }
  // True once `pred` holds over what was seen; false if it did not within `limit`.
  bool wait_until(const std::function<bool(const Seen&)>& pred,
                  std::chrono::milliseconds limit = kWait) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return pred(seen_); });
  }
  bool wait_frames_from(MemberId from, size_t n) {
    return wait_until([&](const Seen& s) { return s.frames_from(from) >= n; });
  }
  bool wait_unreachable(MemberId peer) {
    return wait_until([&](const Seen& s) { return s.unreachable_reports(peer) > 0; });
  }
  Seen seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Seen seen_;
  SnapshotFn snapshot_fn_;
  IntroductionFn introduction_fn_;
};

// A gate a snapshot handler waits at until the test opens it (the fixture opens it in TearDown,
// so a failed test never leaves a handler, and the transport's stop(), waiting).
class Latch {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, 2 * kWait, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A completion callback's record: how often it ran and with what it ran last. Shared with the
// callback, so a call that comes late (a bug the test then reports) still lands in live memory.
template <typename T>
class CallRecord {
 public:
  static std::function<void(T)> callback(const std::shared_ptr<CallRecord>& c) {
    return [c](T value) {
      std::lock_guard<std::mutex> lock(c->mu_);
      ++c->calls_;
      c->last_.emplace(std::move(value));
      c->cv_.notify_all();
    };
  }
  bool wait() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return calls_ > 0; });
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 protected:
  // REQUIRES: calls() > 0.
  T last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return *last_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  std::optional<T> last_;
};

// A snapshot's completion callback.
class Completion : public CallRecord<Status> {
 public:
  // OK until it ran.
  Status status() const { return calls() > 0 ? last() : Status::OK(); }
};

// An introduction's completion callback.
class Introduced : public CallRecord<Result<std::string>> {
 public:
  // REQUIRES: calls() > 0.
  Result<std::string> result() const { return last(); }
  // REQUIRES: calls() > 0.
  Status::Code code() const {
    Result<std::string> r = last();
    return r.ok() ? Status::Code::kOk : r.status().code();
  }
  // "OK: <n> bytes", or the status: for failure messages.
  std::string describe() const {
    if (calls() == 0) return "not called";
    Result<std::string> r = last();
    if (!r.ok()) return r.status().to_string();
    return "OK: " + std::to_string(r->size()) + " bytes";
  }
};

// The byte at offset `i` of every test pattern (frames and snapshots): changes with the offset,
// so a lost, repeated or moved chunk shows.
inline char pattern_byte(uint64_t i) {
  return static_cast<char>(((i ^ (i >> 8) ^ (i >> 19)) * 167 + 13) & 0xff);
}

inline std::string pattern(size_t n, uint64_t salt = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = pattern_byte(i + salt);
  return s;
}

// A snapshot of `size` pattern bytes; `*read` says how far the transport has read it.
class PatternSource : public ByteSource {
 public:
  PatternSource(uint64_t size, std::shared_ptr<std::atomic<uint64_t>> read)
      : size_(size), read_(std::move(read)) {}
  Result<size_t> read(char* buf, size_t n) override {
    size_t m = static_cast<size_t>(std::min<uint64_t>(n, size_ - pos_));
    for (size_t i = 0; i < m; ++i) buf[i] = pattern_byte(pos_ + i);
    pos_ += m;
    read_->store(pos_);
    return m;
  }

 private:
  uint64_t size_;
  uint64_t pos_ = 0;
  std::shared_ptr<std::atomic<uint64_t>> read_;
};

// What a receiving handler read of a pattern snapshot, shared between it and the test.
struct SnapshotProgress {
  enum Phase { kReading = 0, kBlocked = 1, kReturned = 2 };

  std::atomic<uint64_t> bytes{0};       // read so far
  std::atomic<uint64_t> mismatches{0};  // bytes that differ from the pattern
  std::atomic<bool> ended{false};       // a read returned 0 (the end of the stream)
  std::atomic<bool> read_failed{false};

  void set_phase(Phase p) {
    std::lock_guard<std::mutex> lock(mu);
    phase = p;
    cv.notify_all();
  }
  bool wait_phase(Phase p) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, kWait, [&] { return phase >= p; });
  }
  Phase current_phase() {
    std::lock_guard<std::mutex> lock(mu);
    return phase;
  }

  std::mutex mu;
  std::condition_variable cv;
  Phase phase = kReading;
  MemberId from = 0;
  std::string metadata;
};

// Reads `data` until `until` bytes were read in all (or its end, or an error), `chunk` bytes at a
// time with `pause` after each read (a slow reader), checking every byte against the pattern.
inline Status read_pattern(ByteSource& data, SnapshotProgress& p, uint64_t until,
                           size_t chunk = 256 << 10,
                           std::chrono::milliseconds pause = std::chrono::milliseconds(0)) {
  std::vector<char> buf(chunk);
  while (p.bytes < until && !p.ended) {
    Result<size_t> n =
        data.read(buf.data(), static_cast<size_t>(std::min<uint64_t>(chunk, until - p.bytes)));
    if (!n.ok()) {
      p.read_failed = true;
      return n.status();
    }
    if (*n == 0) {
      p.ended = true;
      break;
    }
    uint64_t base = p.bytes, bad = 0;
    for (size_t i = 0; i < *n; ++i) bad += buf[i] != pattern_byte(base + i);
    p.mismatches += bad;
    p.bytes += *n;
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  return Status::OK();
}

// Polls `cond` until it holds; false if it did not within `limit`.
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds limit = kWait) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Runs `fn` on a thread of its own and waits for it to return. A call that never returns (a send()
// that blocks, a stop() that hangs) cannot be failed and stepped over - its thread is still inside
// the transport - so after `limit` this names the call and aborts the test program.
inline void must_return(const char* what, const std::function<void()>& fn,
                        std::chrono::seconds limit = std::chrono::seconds(120)) {
  std::promise<void> returned;
  std::future<void> f = returned.get_future();
  std::thread t([&] {
    fn();
    returned.set_value();
  });
  if (f.wait_for(limit) != std::future_status::ready) {
    std::fprintf(stderr, "FATAL: %s did not return within %llds; aborting the suite\n", what,
                 static_cast<long long>(limit.count()));
    std::fflush(stderr);
    std::abort();
  }
  t.join();
}

// A TCP socket bound to 127.0.0.1 on a free port (or `port`), listening if asked. It never
// accepts and never reads: a peer that takes a connection and then says nothing.
class RawSocket {
 public:
  explicit RawSocket(bool listen, int port = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        (listen && ::listen(fd_, 1) != 0)) {
      close();
      return;
    }
    socklen_t len = sizeof(addr);
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~RawSocket() { close(); }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool ok() const { return fd_ >= 0 && port_ != 0; }
  int port() const { return port_; }
  // True once a connection waits in the listen queue (the kernel took it; nobody accepts it);
  // false if none came within the bound.
  bool wait_pending_connection() const {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())) > 0;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// This process's resident set, in bytes (VmRSS in /proc/self/status); 0 if unreadable.
inline uint64_t resident_bytes() {
  std::ifstream in("/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      uint64_t kib = 0;
      in >> kib;
      return kib << 10;
    }
    std::getline(in, key);
  }
  return 0;
}

}  // namespace keel::testing

#endif  // KEEL_TESTS_PLUGINS_TRANSPORT_TRANSPORT_TEST_UTIL_H_
