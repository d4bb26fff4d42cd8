#include "leveldb_read.h"

#include <new>

#include "leveldb_keys.h"

namespace keel::backend_leveldb {

namespace {

Status closed_error() { return Status::FailedPrecondition("leveldb: the store is closed"); }

}  // namespace

void LeveldbCursor::settle() {
  valid_ = it_->Valid() && it_->key().starts_with(to_slice(prefix_));
  if (!it_->status().ok()) {
    valid_ = false;
    status_ = leveldb_status(it_->status(), "cursor");
  }
}

void LeveldbCursor::seek(std::string_view target) {
  std::string k = prefix_;
  k.append(target);
  it_->Seek(k);
  settle();
}

void LeveldbCursor::seek_to_first() {
  it_->Seek(prefix_);
  settle();
}

void LeveldbCursor::seek_to_last() {
  std::string end = prefix_end(prefix_);
  if (end.empty()) {
    it_->SeekToLast();
  } else {
    it_->Seek(end);
    if (it_->Valid()) {
      it_->Prev();
    } else if (it_->status().ok()) {
      it_->SeekToLast();
    }
  }
  settle();
}

void LeveldbCursor::next() {
  it_->Next();
  settle();
}

void LeveldbCursor::prev() {
  it_->Prev();
  settle();
}

std::string_view LeveldbCursor::key() const {
  return from_slice(it_->key()).substr(prefix_.size());
}

std::string_view LeveldbCursor::value() const { return from_slice(it_->value()); }

LeveldbReadTx::~LeveldbReadTx() {
  std::shared_lock<std::shared_mutex> lock(store_.state_mu());
  if (leveldb::DB* db = store_.db()) db->ReleaseSnapshot(snapshot_);
}

leveldb::ReadOptions LeveldbReadTx::read_options() const {
  leveldb::ReadOptions o;
  o.verify_checksums = true;
  o.snapshot = snapshot_;
  return o;
}

Status LeveldbReadTx::check_bucket(leveldb::DB* db, std::string_view bucket) {
  if (seen_.count(bucket) != 0) return Status::OK();
  std::string ignored;
  leveldb::Status s = db->Get(read_options(), registry_key(bucket), &ignored);
  if (s.IsNotFound()) {
    return Status::NotFound("bucket \"" + std::string(bucket) + "\" does not exist");
  }
  if (!s.ok()) return leveldb_status(s, "look up bucket");
  seen_.emplace(bucket);
  return Status::OK();
}

Status LeveldbReadTx::get(std::string_view bucket, std::string_view key, std::string* value) {
  try {
    std::shared_lock<std::shared_mutex> lock(store_.state_mu());
    leveldb::DB* db = store_.db();
    if (db == nullptr) return closed_error();
    KEEL_RETURN_IF_ERROR(check_bucket(db, bucket));
    std::string k = bucket_prefix(bucket);
    k.append(key);
    leveldb::Status s = db->Get(read_options(), k, value);
    if (s.IsNotFound()) return Status::NotFound("key not found");
    return leveldb_status(s, "get");
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("leveldb: out of memory in get");
  }
}

Result<std::unique_ptr<BackendCursor>> LeveldbReadTx::cursor(std::string_view bucket) {
  try {
    std::shared_lock<std::shared_mutex> lock(store_.state_mu());
    leveldb::DB* db = store_.db();
    if (db == nullptr) return closed_error();
    KEEL_RETURN_IF_ERROR(check_bucket(db, bucket));
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(read_options()));
    return std::unique_ptr<BackendCursor>(new LeveldbCursor(std::move(it), bucket_prefix(bucket)));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("leveldb: out of memory opening a cursor");
  }
}

Result<std::vector<std::string>> LeveldbReadTx::buckets() {
  try {
    std::shared_lock<std::shared_mutex> lock(store_.state_mu());
    leveldb::DB* db = store_.db();
    if (db == nullptr) return closed_error();
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(read_options()));
    std::vector<std::string> names;
    for (it->Seek(std::string(1, kRegistryTag)); it->Valid() && it->key()[0] == kRegistryTag;
         it->Next()) {
      names.emplace_back(from_slice(it->key()).substr(1));
    }
    if (!it->status().ok()) return leveldb_status(it->status(), "list buckets");
    return names;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("leveldb: out of memory listing buckets");
  }
}

}  // namespace keel::backend_leveldb
