// The Peer service as a raw gRPC client sees it, over 127.0.0.1: a call without keel's metadata,
// from another cluster or meant for another member is refused with the status the README names
// before anything reaches the handler; a well-formed one is accepted and its frames arrive; a
// message over the receiver's limit cuts the stream and a new one works; a snapshot's reply
// carries the handler's Status; an introduction needs no metadata and its reply carries the
// handler's answer or refusal.
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "call_identity.h"
#include "grpc_transport.h"

namespace keel::grpc_transport {
namespace {

constexpr auto kWait = std::chrono::seconds(30);
constexpr uint64_t kCluster = 0xc1;
constexpr MemberId kLocal = 2;

class NullLogger : public Logger {
 public:
  void log(LogLevel, std::string_view m) override {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(m);
  }
  bool has(std::string_view part) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_) {
      if (l.find(part) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class Handler : public TransportHandler {
 public:
  void on_message(MemberId from, std::string frame) override {
    std::lock_guard<std::mutex> lock(mu_);
    frames.emplace_back(from, std::move(frame));
    cv_.notify_all();
  }
  void on_unreachable(MemberId) override {}
  Status on_snapshot(MemberId, std::string_view metadata, ByteSource& data) override {
    char buf[4096];
    size_t total = 0;
    for (;;) {
      Result<size_t> n = data.read(buf, sizeof(buf));
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      total += *n;
    }
    return Status::AlreadyExists(std::string(metadata) + " " + std::to_string(total));
  }
  Result<std::string> on_introduction(std::string_view question) override {
    if (question == "refuse") return Status::PermissionDenied("not to you");
    return "re:" + std::string(question);
  }
  bool wait_frames(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, [&] { return frames.size() >= n; });
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mu_);
    return frames.size();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<MemberId, std::string>> frames;
};

class PeerServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TransportOptions o;
    o.local_id = kLocal;
    o.cluster_id = kCluster;
    o.listen_urls = {"http://127.0.0.1:0"};
    o.handler = &handler_;
    o.max_frame_bytes = 64 << 10;
    Result<std::unique_ptr<Transport>> t = GrpcTransport::start(o, Settings{}, logger_);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    transport_ = std::move(t).value();
    std::string url = transport_->listen_urls().at(0);
    stub_ = pb::Peer::NewStub(
        grpc::CreateChannel(url.substr(std::string("http://").size()), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { transport_.reset(); }

  // Opens a control stream with `md` as its metadata and writes one batch of `frames`; the
  // stream's status once it ends (half-closed by us after the write).
  grpc::Status control(const std::vector<std::pair<std::string, std::string>>& md,
                       const std::vector<std::string>& frames) {
    grpc::ClientContext call;
    call.set_deadline(std::chrono::system_clock::now() + kWait);
    for (const auto& [k, v] : md) call.AddMetadata(k, v);
    pb::StreamEnd reply;
    auto writer = stub_->Control(&call, &reply);
    pb::FrameBatch batch;
    for (const auto& f : frames) batch.add_frames(f);
    if (writer->Write(batch)) writer->WritesDone();
    return writer->Finish();
  }

  static std::vector<std::pair<std::string, std::string>> identity(uint64_t cluster, MemberId from,
                                                                   MemberId to) {
    return {{kClusterKey, hex(cluster)}, {kFromKey, hex(from)}, {kToKey, hex(to)}};
  }

  NullLogger logger_;
  Handler handler_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<pb::Peer::Stub> stub_;
};

TEST_F(PeerServiceTest, AnotherClusterIsRefusedWithFailedPrecondition) {
  grpc::Status s = control(identity(kCluster + 1, 1, kLocal), {"x"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("cluster ID mismatch"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find(hex(kCluster)), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find(hex(kCluster + 1)), std::string::npos) << s.error_message();
  EXPECT_TRUE(logger_.has("cluster ID mismatch"));
  EXPECT_EQ(handler_.count(), 0u);
}

TEST_F(PeerServiceTest, AnotherMemberIsRefusedWithFailedPrecondition) {
  grpc::Status s = control(identity(kCluster, 1, kLocal + 5), {"x"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("member ID mismatch"), std::string::npos) << s.error_message();
  EXPECT_TRUE(logger_.has("member ID mismatch"));
  EXPECT_EQ(handler_.count(), 0u);
}

TEST_F(PeerServiceTest, MissingOrMalformedMetadataIsRefused) {
  grpc::Status s = control({}, {"x"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  auto md = identity(kCluster, 1, kLocal);
  md[0].second = "not-hex";
  s = control(md, {"x"});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_EQ(handler_.count(), 0u);
}

TEST_F(PeerServiceTest, AnAcceptedStreamDeliversItsFramesInOrder) {
  grpc::Status s = control(identity(kCluster, 7, kLocal), {"a", "", "c"});
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(handler_.wait_frames(3));
  std::lock_guard<std::mutex> lock(handler_.mu_);
  EXPECT_EQ(handler_.frames[0], std::make_pair(MemberId{7}, std::string("a")));
  EXPECT_EQ(handler_.frames[1], std::make_pair(MemberId{7}, std::string("")));
  EXPECT_EQ(handler_.frames[2], std::make_pair(MemberId{7}, std::string("c")));
}

// max_frame_bytes is 64 KiB, which is also the snapshot chunk size: a frame just over it fits in
// a message and is dropped by the receiver; a 1 MiB message is refused by gRPC itself.
TEST_F(PeerServiceTest, FramesOverTheLimitNeverReachTheHandler) {
  grpc::Status s = control(identity(kCluster, 7, kLocal), {"a", std::string((64 << 10) + 1, 'x'), "b"});
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(handler_.wait_frames(2));
  s = control(identity(kCluster, 7, kLocal), {std::string(1 << 20, 'y')});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  s = control(identity(kCluster, 7, kLocal), {"c"});
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(handler_.wait_frames(3));
  std::lock_guard<std::mutex> lock(handler_.mu_);
  ASSERT_EQ(handler_.frames.size(), 3u);
  EXPECT_EQ(handler_.frames[0].second, "a");
  EXPECT_EQ(handler_.frames[1].second, "b");
  EXPECT_EQ(handler_.frames[2].second, "c");
}

TEST_F(PeerServiceTest, ASnapshotReplyCarriesTheHandlersStatus) {
  grpc::ClientContext call;
  call.set_deadline(std::chrono::system_clock::now() + kWait);
  for (const auto& [k, v] : identity(kCluster, 7, kLocal)) call.AddMetadata(k, v);
  pb::SnapshotReply reply;
  auto writer = stub_->Snapshot(&call, &reply);
  pb::SnapshotChunk chunk;
  chunk.set_metadata("meta");
  ASSERT_TRUE(writer->Write(chunk));
  chunk.clear_metadata();
  chunk.set_data(std::string(10000, 'd'));
  ASSERT_TRUE(writer->Write(chunk));
  chunk.clear_data();
  chunk.set_last(true);
  ASSERT_TRUE(writer->Write(chunk));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.code(), static_cast<uint32_t>(Status::Code::kAlreadyExists));
  EXPECT_EQ(reply.message(), "meta 10000");
}

// Without the chunk marked `last`, the handler's read fails: a cut stream is never complete.
TEST_F(PeerServiceTest, ASnapshotWithoutItsLastChunkFailsTheRead) {
  grpc::ClientContext call;
  call.set_deadline(std::chrono::system_clock::now() + kWait);
  for (const auto& [k, v] : identity(kCluster, 7, kLocal)) call.AddMetadata(k, v);
  pb::SnapshotReply reply;
  auto writer = stub_->Snapshot(&call, &reply);
  pb::SnapshotChunk chunk;
  chunk.set_metadata("meta");
  ASSERT_TRUE(writer->Write(chunk));
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.code(), static_cast<uint32_t>(Status::Code::kUnavailable)) << reply.message();
  EXPECT_NE(reply.message().find("was cut"), std::string::npos) << reply.message();
}

// No metadata at all: the answer in the reply (code 0), or the handler's refusal as its code and
// message; a question over max_frame_bytes (64 KiB here) is RESOURCE_EXHAUSTED.
TEST_F(PeerServiceTest, AnIntroductionNeedsNoMetadataAndCarriesTheHandlersAnswer) {
  auto introduce = [&](const std::string& question, pb::IntroductionReply* reply) {
    grpc::ClientContext call;
    call.set_deadline(std::chrono::system_clock::now() + kWait);
    pb::Introduction request;
    request.set_question(question);
    return stub_->Introduce(&call, request, reply);
  };
  pb::IntroductionReply reply;
  grpc::Status s = introduce("hello", &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.code(), 0u);
  EXPECT_EQ(reply.answer(), "re:hello");
  reply.Clear();
  s = introduce("refuse", &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.code(), static_cast<uint32_t>(Status::Code::kPermissionDenied));
  EXPECT_EQ(reply.message(), "not to you");
  EXPECT_EQ(reply.answer(), "");
  s = introduce(std::string((64 << 10) + 1, 'q'), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_TRUE(logger_.has("max_frame_bytes"));
  EXPECT_EQ(handler_.count(), 0u);
}

}  // namespace
}  // namespace keel::grpc_transport
