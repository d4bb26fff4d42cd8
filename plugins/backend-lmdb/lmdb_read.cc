#include "lmdb_read.h"

#include <new>

#include "lmdb_status.h"

namespace keel::backend_lmdb {

Status lmdb_get(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view* value) {
  if (key.empty()) return Status::NotFound("key not found");  // LMDB has no empty keys
  bool long_key = key.size() > kMaxDirectKey;
  std::string stored = long_key ? group_key(key) : std::string();
  MDB_val k = to_val(long_key ? std::string_view(stored) : key);
  MDB_val v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return Status::NotFound("key not found");
  KEEL_RETURN_IF_ERROR(lmdb_status(rc, "get"));
  if (!long_key) {
    *value = from_val(v);
    return Status::OK();
  }
  std::vector<GroupEntry> entries;
  KEEL_RETURN_IF_ERROR(decode_group(from_val(v), &entries));
  std::string_view rest = key.substr(kMaxDirectKey);
  size_t i = lower_bound(entries, rest);
  if (i == entries.size() || entries[i].rest != rest) return Status::NotFound("key not found");
  *value = entries[i].value;
  return Status::OK();
}

void LmdbCursor::load(MDB_cursor_op op, MDB_val* key, bool at_end) {
  MDB_val k{0, nullptr}, v{0, nullptr};
  if (key != nullptr) k = *key;
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  valid_ = false;
  in_group_ = false;
  if (rc == MDB_NOTFOUND) return;
  if (rc != MDB_SUCCESS) {
    status_ = lmdb_status(rc, "cursor");
    return;
  }
  stored_key_ = from_val(k);
  value_ = from_val(v);
  if (is_group_key(stored_key_)) {
    Status s = decode_group(value_, &group_);
    if (!s.ok()) {
      status_ = s;
      return;
    }
    in_group_ = true;
    set_index(at_end ? group_.size() - 1 : 0);
  }
  valid_ = true;
}

void LmdbCursor::set_index(size_t index) {
  index_ = index;
  key_.assign(stored_key_.substr(0, kMaxDirectKey));
  key_.append(group_[index_].rest);
}

void LmdbCursor::seek(std::string_view target) {
  if (target.empty()) return seek_to_first();
  if (target.size() <= kMaxDirectKey) {
    MDB_val k = to_val(target);
    return load(MDB_SET_RANGE, &k, false);
  }
  std::string stored = group_key(target);
  MDB_val k = to_val(stored);
  load(MDB_SET_RANGE, &k, false);
  if (!valid_ || !in_group_ || stored_key_ != stored) return;
  size_t i = lower_bound(group_, target.substr(kMaxDirectKey));
  if (i == group_.size()) return load(MDB_NEXT, nullptr, false);
  set_index(i);
}

void LmdbCursor::next() {
  if (in_group_ && index_ + 1 < group_.size()) return set_index(index_ + 1);
  load(MDB_NEXT, nullptr, false);
}

void LmdbCursor::prev() {
  if (in_group_ && index_ > 0) return set_index(index_ - 1);
  load(MDB_PREV, nullptr, true);
}

LmdbReadTx::~LmdbReadTx() {
  store_.end_read(txn_);
  store_.gate().unlock_shared(holder_);
}

Status LmdbReadTx::resolve(std::string_view bucket, MDB_dbi* dbi) {
  auto it = seen_.find(bucket);
  if (it != seen_.end()) {
    *dbi = it->second;
    return Status::OK();
  }
  // The bucket exists in this snapshot if LMDB's main database (handle 1) names it.
  MDB_val k = to_val(bucket), v;
  int rc = bucket.empty() ? MDB_NOTFOUND : mdb_get(txn_, 1, &k, &v);
  if (rc == MDB_SUCCESS && store_.find_dbi(bucket, dbi)) {
    seen_.emplace(std::string(bucket), *dbi);
    return Status::OK();
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return lmdb_status(rc, "look up bucket");
  return Status::NotFound("bucket \"" + std::string(bucket) + "\" does not exist");
}

Status LmdbReadTx::get(std::string_view bucket, std::string_view key, std::string* value) {
  try {
    MDB_dbi dbi;
    KEEL_RETURN_IF_ERROR(resolve(bucket, &dbi));
    std::string_view v;
    KEEL_RETURN_IF_ERROR(lmdb_get(txn_, dbi, key, &v));
    value->assign(v);
    return Status::OK();
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("lmdb: out of memory in get");
  }
}

Result<std::unique_ptr<BackendCursor>> LmdbReadTx::cursor(std::string_view bucket) {
  try {
    MDB_dbi dbi;
    KEEL_RETURN_IF_ERROR(resolve(bucket, &dbi));
    MDB_cursor* c = nullptr;
    KEEL_RETURN_IF_ERROR(lmdb_status(mdb_cursor_open(txn_, dbi, &c), "open cursor"));
    return std::unique_ptr<BackendCursor>(new LmdbCursor(c));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("lmdb: out of memory opening a cursor");
  }
}

Result<std::vector<std::string>> LmdbReadTx::buckets() {
  try {
    MDB_cursor* c = nullptr;
    KEEL_RETURN_IF_ERROR(lmdb_status(mdb_cursor_open(txn_, 1, &c), "open main cursor"));
    std::vector<std::string> names;
    MDB_val k, v;
    int rc;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      names.emplace_back(from_val(k));
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return lmdb_status(rc, "list buckets");
    return names;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("lmdb: out of memory listing buckets");
  }
}

}  // namespace keel::backend_lmdb
