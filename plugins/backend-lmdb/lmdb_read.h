// Read transactions and cursors of LmdbStore.
//
// A read transaction is one MDB_RDONLY transaction, holding the store's gate shared while it lives.
// Whether a bucket exists is answered from the transaction's own snapshot of LMDB's main database,
// so a bucket created after the transaction began is NotFound in it.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LMDB_READ_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LMDB_READ_H_

#include <lmdb.h>

#include <map>
#include <string>
#include <thread>
#include <vector>

#include "keel/backend.h"
#include "lmdb_store.h"
#include "long_keys.h"

namespace keel::backend_lmdb {

// A cursor over one bucket; expands long-key groups into their keys.
class LmdbCursor : public BackendCursor {
 public:
  explicit LmdbCursor(MDB_cursor* cursor) : cursor_(cursor) {}
  ~LmdbCursor() override { mdb_cursor_close(cursor_); }

  bool valid() const override { return valid_; }
  void seek(std::string_view target) override;
  void seek_to_first() override { load(MDB_FIRST, nullptr, false); }
  void seek_to_last() override { load(MDB_LAST, nullptr, true); }
  void next() override;
  void prev() override;
  std::string_view key() const override { return in_group_ ? key_ : stored_key_; }
  std::string_view value() const override { return in_group_ ? group_[index_].value : value_; }
  Status status() const override { return status_; }

 private:
  // Moves the LMDB cursor with `op` and loads the record there; in a group, at its last entry if
  // `at_end`, else its first.
  void load(MDB_cursor_op op, MDB_val* key, bool at_end);
  void set_index(size_t index);

  MDB_cursor* cursor_;
  bool valid_ = false;
  Status status_;
  std::string_view stored_key_;
  std::string_view value_;
  bool in_group_ = false;
  std::vector<GroupEntry> group_;
  size_t index_ = 0;
  std::string key_;  // the whole key of the current group entry
};

class LmdbReadTx : public BackendReadTx {
 public:
  // Takes ownership of `txn` and of one shared hold of store.gate() taken by `holder`.
  LmdbReadTx(LmdbStore& store, MDB_txn* txn, std::thread::id holder)
      : store_(store), txn_(txn), holder_(holder) {}
  ~LmdbReadTx() override;

  Status get(std::string_view bucket, std::string_view key, std::string* value) override;
  Result<std::unique_ptr<BackendCursor>> cursor(std::string_view bucket) override;
  Result<std::vector<std::string>> buckets() override;

 private:
  Status resolve(std::string_view bucket, MDB_dbi* dbi);

  LmdbStore& store_;
  MDB_txn* txn_;
  std::thread::id holder_;
  std::map<std::string, MDB_dbi, std::less<>> seen_;  // buckets found in this snapshot
};

// Reads `key` of `dbi` in `txn` (either kind), following long-key groups. `*value` points into
// the transaction's pages.
Status lmdb_get(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view* value);

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LMDB_READ_H_
