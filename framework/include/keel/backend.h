// keel::Backend: where a member's state machine lives on disk — the MVCC key space, leases,
// members, alarms and meta such as the applied Raft index (and, once it is built, the auth store).
//
// A backend plugin's factory returns a BackendPlugin: the engine, bound to its config subtree,
// which opens stores (Backend) in data directories and restores them from streamed copies.
//
// The contract every backend keeps (tests/plugins/backend checks it for each one):
// - A store holds named buckets; a bucket holds byte-string keys in bytewise order, each with a
//   byte-string value. Keys and values may hold any byte (0x00 and 0xFF included), may be empty
//   (values) and may be as large as 1.5 MiB plus etcd's framing.
// - A read transaction sees one consistent snapshot of every bucket, taken when it began, for as
//   long as it lives; many run at once, on any threads, concurrently with one writer.
// - A WriteBatch is applied whole or not at all. commit(batch, sync=true) returns only when the
//   batch is on disk; a crash never leaves part of a batch visible.
// - The data directory remembers its engine: a backend writes its name and format version there
//   and refuses to open another engine's data (or a newer format) with FailedPrecondition.
// - A store reports its size and size in use, gives space back on defragment, and writes a
//   consistent copy of itself to a ByteSink while writes go on; the same engine's
//   BackendPlugin::restore turns that copy into a store again.
// - Errors: an unknown bucket is NotFound; a closed store is FailedPrecondition; damaged files are
//   Corruption; a failed write, sync, full or read-only disk is IOError. After an IOError from
//   commit the store must not be written again (the member stops; a failed fsync is never retried).
//
// Ownership: the caller owns what create/open/begin_read return (std::unique_ptr). A transaction
// or cursor must be destroyed before the Backend that made it.
#ifndef KEEL_BACKEND_H_
#define KEEL_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "keel/byte_stream.h"
#include "keel/status.h"

namespace keel {

// A position in one bucket of a read transaction, over [first, last] in bytewise key order.
// key() and value() stay valid until the cursor moves or is destroyed.
// Thread safety: one thread at a time.
class BackendCursor {
 public:
  virtual ~BackendCursor() = default;
  BackendCursor() = default;
  BackendCursor(const BackendCursor&) = delete;
  BackendCursor& operator=(const BackendCursor&) = delete;

  virtual bool valid() const = 0;
  virtual void seek(std::string_view target) = 0;  // first key >= target
  virtual void seek_to_first() = 0;
  virtual void seek_to_last() = 0;
  virtual void next() = 0;  // REQUIRES: valid()
  virtual void prev() = 0;  // REQUIRES: valid()
  virtual std::string_view key() const = 0;    // REQUIRES: valid()
  virtual std::string_view value() const = 0;  // REQUIRES: valid()
  // OK, or the error that made the cursor invalid (an invalid cursor with OK is at an end).
  virtual Status status() const = 0;
};

// A consistent snapshot of the whole store. Thread safety: one thread at a time uses a given
// transaction; distinct transactions may be used from distinct threads at once.
class BackendReadTx {
 public:
  virtual ~BackendReadTx() = default;
  BackendReadTx() = default;
  BackendReadTx(const BackendReadTx&) = delete;
  BackendReadTx& operator=(const BackendReadTx&) = delete;

  // OK and *value set; NotFound if the key (or the bucket) does not exist.
  virtual Status get(std::string_view bucket, std::string_view key, std::string* value) = 0;
  // A cursor over `bucket`, or NotFound if the bucket does not exist.
  virtual Result<std::unique_ptr<BackendCursor>> cursor(std::string_view bucket) = 0;
  // Every bucket's name, in bytewise order.
  virtual Result<std::vector<std::string>> buckets() = 0;
};

// A batch of writes applied atomically by Backend::commit. A plain value type of keel's: it
// belongs to the caller and the backend only reads it.
class WriteBatch {
 public:
  enum class OpType : uint8_t { kPut, kDelete, kDeleteRange };
  struct Op {
    OpType type;
    std::string bucket;
    std::string key;
    std::string value;  // kPut: the value; kDeleteRange: the end of [key, value)
  };

  void put(std::string_view bucket, std::string_view key, std::string_view value) {
    add(OpType::kPut, bucket, key, value);
  }
  void erase(std::string_view bucket, std::string_view key) { add(OpType::kDelete, bucket, key, {}); }
  // Deletes every key in [begin, end) of `bucket`.
  void erase_range(std::string_view bucket, std::string_view begin, std::string_view end) {
    add(OpType::kDeleteRange, bucket, begin, end);
  }
  void clear() {
    ops_.clear();
    bytes_ = 0;
  }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  size_t approximate_bytes() const { return bytes_; }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  void add(OpType type, std::string_view bucket, std::string_view key, std::string_view value) {
    ops_.push_back(Op{type, std::string(bucket), std::string(key), std::string(value)});
    bytes_ += bucket.size() + key.size() + value.size() + 16;
  }
  std::vector<Op> ops_;
  size_t bytes_ = 0;
};

struct BackendStats {
  uint64_t size_bytes = 0;         // space the store takes on disk
  uint64_t size_in_use_bytes = 0;  // of that, the part holding live data
};

// An open store. Thread safety: every method may be called from any thread; commits are
// serialized by the backend (one writer at a time), reads run concurrently with them.
class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Creates `bucket` if it does not exist, durably. Idempotent.
  virtual Status create_bucket(std::string_view bucket) = 0;
  // A read transaction over the store as of now.
  virtual Result<std::unique_ptr<BackendReadTx>> begin_read() = 0;
  // Applies `batch` atomically; with `sync`, returns only once it is on disk. A batch naming a
  // bucket that does not exist fails with NotFound and changes nothing.
  virtual Status commit(const WriteBatch& batch, bool sync) = 0;
  virtual Result<BackendStats> stats() = 0;
  // Gives free space back to the file system. Reads and writes stay correct during and after it
  // (the engine may make them wait).
  virtual Status defragment() = 0;
  // Writes a consistent copy of the whole store to `out`, as of the moment it starts; writes may
  // go on meanwhile. The format is the engine's; BackendPlugin::restore reads it back.
  virtual Status copy_to(ByteSink& out) = 0;
  // Closes the store; every later call fails with FailedPrecondition. Also done by the destructor.
  virtual Status close() = 0;
};

struct BackendOptions {
  std::string dir;                // the data directory of this store (created if missing)
  bool create_if_missing = true;  // false: NotFound when `dir` holds no store
};

// What a backend plugin's factory returns: the engine, bound to its config subtree.
// Thread safety: every method may be called from any thread.
class BackendPlugin {
 public:
  virtual ~BackendPlugin() = default;
  virtual Result<std::unique_ptr<Backend>> open(const BackendOptions& options) = 0;
  // Builds a store in `options.dir` (which must not hold one) from a copy written by copy_to.
  virtual Status restore(const BackendOptions& options, ByteSource& copy) = 0;
};

}  // namespace keel

#endif  // KEEL_BACKEND_H_
