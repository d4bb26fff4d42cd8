// Read transactions (LevelDB snapshots) and cursors (snapshot iterators bounded to one bucket's
// prefix) of LeveldbStore.
#ifndef KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_READ_H_
#define KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_READ_H_

#include <leveldb/db.h>
#include <leveldb/iterator.h>

#include <memory>
#include <set>
#include <string>

#include "keel/backend.h"
#include "leveldb_store.h"

namespace keel::backend_leveldb {

class LeveldbCursor : public BackendCursor {
 public:
  LeveldbCursor(std::unique_ptr<leveldb::Iterator> it, std::string prefix)
      : it_(std::move(it)), prefix_(std::move(prefix)) {}

  bool valid() const override { return valid_; }
  void seek(std::string_view target) override;
  void seek_to_first() override;
  void seek_to_last() override;
  void next() override;
  void prev() override;
  std::string_view key() const override;
  std::string_view value() const override;
  Status status() const override { return status_; }

 private:
  void settle();  // valid_ and status_ from where the iterator stands

  std::unique_ptr<leveldb::Iterator> it_;
  const std::string prefix_;
  bool valid_ = false;
  Status status_;
};

class LeveldbReadTx : public BackendReadTx {
 public:
  // REQUIRES: `snapshot` was taken from store.db().
  LeveldbReadTx(LeveldbStore& store, const leveldb::Snapshot* snapshot)
      : store_(store), snapshot_(snapshot) {}
  ~LeveldbReadTx() override;

  Status get(std::string_view bucket, std::string_view key, std::string* value) override;
  Result<std::unique_ptr<BackendCursor>> cursor(std::string_view bucket) override;
  Result<std::vector<std::string>> buckets() override;

 private:
  leveldb::ReadOptions read_options() const;
  // NotFound unless `bucket` exists in this snapshot. REQUIRES: state_mu held, db open.
  Status check_bucket(leveldb::DB* db, std::string_view bucket);

  LeveldbStore& store_;
  const leveldb::Snapshot* snapshot_;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_READ_H_
