// Maintenance.Snapshot: the Backend's copy_to runs on its own thread and writes into a sink that
// hands each chunk to the gRPC stream and waits for it to be sent, so the copy goes at the
// client's pace and holds one chunk in memory at a time.
//
// The stream is shaped as etcd's clients check it (etcdctl refuses a snapshot whose size is not
// a multiple of 512 plus a 32-byte SHA-256 of what precedes it):
//   the backend's copy | zero padding | u64 little-endian length of the copy | SHA-256
// where the padding makes everything before the SHA-256 a multiple of 512 bytes.
// docs/format/snapshot.md has it too.
#include <openssl/evp.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "grpc/convert.h"
#include "grpc/services.h"

namespace keel::grpcsvc {
namespace {

constexpr size_t kChunkBytes = 32 * 1024;  // etcd's snapshot send buffer

class SnapshotStream final : public grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>,
                             public ByteSink {
 public:
  explicit SnapshotStream(server::Node& node) : node_(node) {
    EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr);
    producer_ = std::thread([this] { produce(); });
  }

  // The copy's bytes, cut into chunks; each waits until the previous one is sent.
  Status write(std::string_view data) override {
    EVP_DigestUpdate(sha_, data.data(), data.size());
    copied_ += data.size();
    return append(data);
  }

  Status append(std::string_view data) {
    while (!data.empty()) {
      size_t n = std::min(data.size(), kChunkBytes - pending_.size());
      pending_.append(data.data(), n);
      data.remove_prefix(n);
      if (pending_.size() == kChunkBytes) KEEL_RETURN_IF_ERROR(send_pending());
    }
    return Status::OK();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ = false;
    if (!ok) broken_ = true;
    cv_.notify_all();
  }

  void OnDone() override {
    if (producer_.joinable()) producer_.join();
    EVP_MD_CTX_free(sha_);
    delete this;
  }

 private:
  void produce() {
    Status s = node_.copy_backend(*this);
    if (s.ok()) s = append_trailer();
    if (s.ok() && !pending_.empty()) s = send_pending();
    bool broken = false;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !in_flight_; });
      broken = broken_;
    }
    // gRPC may run a reaction inline, so nothing is held while calling into it.
    Finish(broken ? grpc::Status::CANCELLED : s.ok() ? grpc::Status::OK : to_grpc_status(s));
  }

  Status append_trailer() {
    const uint64_t length = copied_;
    std::string tail((512 - (copied_ + 8) % 512) % 512, '\0');
    for (int i = 0; i < 8; ++i) tail.push_back(static_cast<char>(length >> (8 * i)));
    EVP_DigestUpdate(sha_, tail.data(), tail.size());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    EVP_DigestFinal_ex(sha_, digest, &digest_size);
    tail.append(reinterpret_cast<const char*>(digest), digest_size);
    return append(tail);
  }

  Status send_pending() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return !in_flight_; });
      if (broken_) return Status::Cancelled("etcdserver: request canceled");
      in_flight_ = true;
    }
    // response_ is only touched here and by gRPC while a write is in flight.
    response_.Clear();
    response_.set_blob(std::move(pending_));
    pending_.clear();
    fill_header(node_.header(), response_.mutable_header());
    StartWrite(&response_);
    return Status::OK();
  }

  server::Node& node_;
  std::string pending_;  // the producer thread's, as are sha_ and copied_
  EVP_MD_CTX* sha_ = EVP_MD_CTX_new();
  uint64_t copied_ = 0;
  etcdserverpb::SnapshotResponse response_;  // being written while in_flight_
  std::mutex mu_;
  std::condition_variable cv_;
  bool in_flight_ = false;
  bool broken_ = false;
  std::thread producer_;
};

}  // namespace

grpc::ServerWriteReactor<etcdserverpb::SnapshotResponse>* MaintenanceService::Snapshot(
    grpc::CallbackServerContext*, const etcdserverpb::SnapshotRequest*) {
  return new SnapshotStream(node_);
}

}  // namespace keel::grpcsvc
