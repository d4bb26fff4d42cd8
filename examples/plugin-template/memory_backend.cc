// example-memory: a keel Backend that keeps everything in memory. The whole store is an immutable
// map of buckets; a commit builds the next map (copying only the buckets it touches) and swaps it
// in, so a read transaction is simply a reference to the map it began with.
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "keel/plugin.h"

namespace {

using Bucket = std::map<std::string, std::string, std::less<>>;
using Store = std::map<std::string, std::shared_ptr<const Bucket>, std::less<>>;

class MemoryCursor : public keel::BackendCursor {
 public:
  MemoryCursor(std::shared_ptr<const Store> store, std::shared_ptr<const Bucket> bucket)
      : store_(std::move(store)), bucket_(std::move(bucket)), it_(bucket_->end()) {}
  bool valid() const override { return it_ != bucket_->end(); }
  void seek(std::string_view target) override { it_ = bucket_->lower_bound(target); }
  void seek_to_first() override { it_ = bucket_->begin(); }
  void seek_to_last() override { it_ = bucket_->empty() ? bucket_->end() : std::prev(bucket_->end()); }
  void next() override { ++it_; }
  void prev() override { it_ = it_ == bucket_->begin() ? bucket_->end() : std::prev(it_); }
  std::string_view key() const override { return it_->first; }
  std::string_view value() const override { return it_->second; }
  keel::Status status() const override { return keel::Status::OK(); }

 private:
  std::shared_ptr<const Store> store_;  // keeps the snapshot alive
  std::shared_ptr<const Bucket> bucket_;
  Bucket::const_iterator it_;
};

class MemoryReadTx : public keel::BackendReadTx {
 public:
  explicit MemoryReadTx(std::shared_ptr<const Store> store) : store_(std::move(store)) {}

  keel::Status get(std::string_view bucket, std::string_view key, std::string* value) override {
    auto b = store_->find(bucket);
    if (b == store_->end()) return keel::Status::NotFound("no bucket " + std::string(bucket));
    auto it = b->second->find(key);
    if (it == b->second->end()) return keel::Status::NotFound("no key");
    *value = it->second;
    return keel::Status::OK();
  }
  keel::Result<std::unique_ptr<keel::BackendCursor>> cursor(std::string_view bucket) override {
    auto b = store_->find(bucket);
    if (b == store_->end()) return keel::Status::NotFound("no bucket " + std::string(bucket));
    return std::unique_ptr<keel::BackendCursor>(new MemoryCursor(store_, b->second));
  }
  keel::Result<std::vector<std::string>> buckets() override {
    std::vector<std::string> names;
    for (const auto& [name, bucket] : *store_) names.push_back(name);
    return names;
  }

 private:
  std::shared_ptr<const Store> store_;
};

class MemoryBackend : public keel::Backend {
 public:
  keel::Status create_bucket(std::string_view bucket) override {
    std::unique_lock lock(mu_);
    if (closed_) return closed();
    if (store_->count(bucket) != 0) return keel::Status::OK();
    auto next = std::make_shared<Store>(*store_);
    (*next)[std::string(bucket)] = std::make_shared<Bucket>();
    store_ = std::move(next);
    return keel::Status::OK();
  }
  keel::Result<std::unique_ptr<keel::BackendReadTx>> begin_read() override {
    std::shared_lock lock(mu_);
    if (closed_) return closed();
    return std::unique_ptr<keel::BackendReadTx>(new MemoryReadTx(store_));
  }
  keel::Status commit(const keel::WriteBatch& batch, bool sync) override {
    if (sync) return keel::Status::NotSupported("example-memory keeps nothing on disk: no synced commits");
    std::unique_lock lock(mu_);
    if (closed_) return closed();
    auto next = std::make_shared<Store>(*store_);
    std::map<std::string, std::shared_ptr<Bucket>, std::less<>> copies;  // copy-on-write
    for (const auto& op : batch.ops()) {
      if (next->count(op.bucket) == 0) return keel::Status::NotFound("no bucket " + op.bucket);
      auto& copy = copies[op.bucket];
      if (!copy) copy = std::make_shared<Bucket>(*next->at(op.bucket));
      switch (op.type) {
        case keel::WriteBatch::OpType::kPut: (*copy)[op.key] = op.value; break;
        case keel::WriteBatch::OpType::kDelete: copy->erase(op.key); break;
        case keel::WriteBatch::OpType::kDeleteRange:
          copy->erase(copy->lower_bound(op.key), copy->lower_bound(op.value));
          break;
      }
    }
    for (auto& [name, bucket] : copies) (*next)[name] = bucket;
    store_ = std::move(next);
    return keel::Status::OK();
  }
  keel::Result<keel::BackendStats> stats() override {
    std::shared_lock lock(mu_);
    keel::BackendStats s;
    for (const auto& [name, bucket] : *store_) {
      for (const auto& [k, v] : *bucket) s.size_in_use_bytes += k.size() + v.size();
    }
    s.size_bytes = s.size_in_use_bytes;
    return s;
  }
  keel::Status defragment() override { return keel::Status::OK(); }  // nothing is ever fragmented
  keel::Status copy_to(keel::ByteSink& out) override {
    std::shared_ptr<const Store> snapshot;
    {
      std::shared_lock lock(mu_);
      if (closed_) return closed();
      snapshot = store_;
    }
    // Records: kind byte ('b' bucket, 'k' key), then length-prefixed strings.
    for (const auto& [name, bucket] : *snapshot) {
      KEEL_RETURN_IF_ERROR(write_record(out, 'b', name, ""));
      for (const auto& [k, v] : *bucket) KEEL_RETURN_IF_ERROR(write_record(out, 'k', k, v));
    }
    return keel::Status::OK();
  }
  keel::Status close() override {
    std::unique_lock lock(mu_);
    closed_ = true;
    return keel::Status::OK();
  }

  // Rebuilds the store from a copy_to stream.
  keel::Status load(keel::ByteSource& in) {
    auto next = std::make_shared<Store>();
    std::shared_ptr<Bucket> current;
    std::string buffer;
    char chunk[65536];
    for (;;) {
      keel::Result<size_t> n = in.read(chunk, sizeof chunk);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      buffer.append(chunk, *n);
    }
    size_t pos = 0;
    while (pos < buffer.size()) {
      char kind = buffer[pos++];
      std::string a, b;
      if (!read_string(buffer, &pos, &a) || !read_string(buffer, &pos, &b)) {
        return keel::Status::Corruption("example-memory: truncated copy");
      }
      if (kind == 'b') {
        current = std::make_shared<Bucket>();
        (*next)[a] = current;
      } else if (kind == 'k' && current) {
        (*current)[a] = b;
      } else {
        return keel::Status::Corruption("example-memory: bad record in copy");
      }
    }
    std::unique_lock lock(mu_);
    store_ = std::move(next);
    return keel::Status::OK();
  }

 private:
  static keel::Status closed() { return keel::Status::FailedPrecondition("example-memory: store is closed"); }
  static keel::Status write_record(keel::ByteSink& out, char kind, const std::string& a, const std::string& b) {
    std::string r(1, kind);
    for (const std::string* s : {&a, &b}) {
      uint64_t n = s->size();
      r.append(reinterpret_cast<const char*>(&n), sizeof n);
      r += *s;
    }
    return out.write(r);
  }
  static bool read_string(const std::string& buffer, size_t* pos, std::string* out) {
    uint64_t n;
    if (buffer.size() - *pos < sizeof n) return false;
    std::memcpy(&n, buffer.data() + *pos, sizeof n);
    *pos += sizeof n;
    if (buffer.size() - *pos < n) return false;
    out->assign(buffer, *pos, n);
    *pos += n;
    return true;
  }

  std::shared_mutex mu_;
  std::shared_ptr<const Store> store_ = std::make_shared<Store>();
  bool closed_ = false;
};

class MemoryBackendPlugin : public keel::BackendPlugin {
 public:
  keel::Result<std::unique_ptr<keel::Backend>> open(const keel::BackendOptions&) override {
    return std::unique_ptr<keel::Backend>(new MemoryBackend);
  }
  keel::Status restore(const keel::BackendOptions&, keel::ByteSource& copy) override {
    // A memory store has no folder to restore into: the restored copy would be lost at once.
    MemoryBackend check;
    return check.load(copy);
  }
};

keel::Result<std::unique_ptr<keel::BackendPlugin>> create(const keel::PluginContext& context) {
  KEEL_RETURN_IF_ERROR(context.config.check_known_keys({}));
  return std::unique_ptr<keel::BackendPlugin>(new MemoryBackendPlugin);
}

}  // namespace

KEEL_BACKEND_PLUGIN("example-memory", "0.1.0", create)
