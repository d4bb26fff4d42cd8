#include "lmdb_write.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lmdb_store.h"
#include "long_keys.h"

namespace keel::backend_lmdb {

namespace {

// Loads the group stored under `stored` (empty if absent). `*entries` views LMDB's pages, which
// stay valid only until the next write in `txn`.
int load_group(MDB_txn* txn, MDB_dbi dbi, const std::string& stored,
               std::vector<GroupEntry>* entries) {
  entries->clear();
  MDB_val k = to_val(stored), v;
  int rc = mdb_get(txn, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return MDB_SUCCESS;
  if (rc != MDB_SUCCESS) return rc;
  return decode_group(from_val(v), entries).ok() ? MDB_SUCCESS : MDB_CORRUPTED;
}

int store_group(MDB_txn* txn, MDB_dbi dbi, const std::string& stored,
                const std::vector<GroupEntry>& entries) {
  MDB_val k = to_val(stored);
  if (entries.empty()) {
    int rc = mdb_del(txn, dbi, &k, nullptr);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
  }
  // Encoded before mdb_put: the entries view pages that the put may overwrite.
  std::string value = encode_group(entries);
  MDB_val v = to_val(value);
  return mdb_put(txn, dbi, &k, &v, 0);
}

}  // namespace

int lmdb_put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value) {
  if (key.empty()) return MDB_BAD_VALSIZE;
  if (key.size() <= kMaxDirectKey) {
    MDB_val k = to_val(key), v = to_val(value);
    return mdb_put(txn, dbi, &k, &v, 0);
  }
  std::string stored = group_key(key);
  std::vector<GroupEntry> entries;
  if (int rc = load_group(txn, dbi, stored, &entries); rc != MDB_SUCCESS) return rc;
  std::string_view rest = key.substr(kMaxDirectKey);
  size_t i = lower_bound(entries, rest);
  if (i < entries.size() && entries[i].rest == rest) {
    entries[i].value = value;
  } else {
    entries.insert(entries.begin() + static_cast<std::ptrdiff_t>(i), GroupEntry{rest, value});
  }
  return store_group(txn, dbi, stored, entries);
}

int lmdb_erase(MDB_txn* txn, MDB_dbi dbi, std::string_view key) {
  if (key.empty()) return MDB_SUCCESS;
  if (key.size() <= kMaxDirectKey) {
    MDB_val k = to_val(key);
    int rc = mdb_del(txn, dbi, &k, nullptr);
    return rc == MDB_NOTFOUND ? MDB_SUCCESS : rc;
  }
  std::string stored = group_key(key);
  std::vector<GroupEntry> entries;
  if (int rc = load_group(txn, dbi, stored, &entries); rc != MDB_SUCCESS) return rc;
  size_t i = lower_bound(entries, key.substr(kMaxDirectKey));
  if (i == entries.size() || entries[i].rest != key.substr(kMaxDirectKey)) return MDB_SUCCESS;
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
  return store_group(txn, dbi, stored, entries);
}

int lmdb_erase_range(MDB_txn* txn, MDB_dbi dbi, std::string_view begin, std::string_view end) {
  if (!(begin < end)) return MDB_SUCCESS;
  // First collect what to change, then change it: LMDB cursors and deletes mix poorly.
  std::vector<std::string> doomed;                                // direct keys to delete
  std::vector<std::pair<std::string, std::string>> regrouped;     // group key -> new value ("" = delete)
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(txn, dbi, &c); rc != MDB_SUCCESS) return rc;
  std::string start = begin.empty() ? std::string()
                      : begin.size() <= kMaxDirectKey ? std::string(begin) : group_key(begin);
  MDB_val k = to_val(start), v;
  int rc = mdb_cursor_get(c, &k, &v, start.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    std::string_view stored = from_val(k);
    if (!is_group_key(stored)) {
      if (stored >= end) break;
      if (stored >= begin) doomed.emplace_back(stored);
      continue;
    }
    std::string_view prefix = stored.substr(0, kMaxDirectKey);
    if (prefix >= end) break;  // every key of the group is greater than its prefix
    std::vector<GroupEntry> entries, kept;
    if (!decode_group(from_val(v), &entries).ok()) {
      rc = MDB_CORRUPTED;
      break;
    }
    std::string whole(prefix);
    for (const auto& e : entries) {
      whole.resize(kMaxDirectKey);
      whole.append(e.rest);
      if (whole < begin || whole >= end) kept.push_back(e);
    }
    if (kept.size() != entries.size()) {
      regrouped.emplace_back(std::string(stored), kept.empty() ? std::string() : encode_group(kept));
    }
  }
  mdb_cursor_close(c);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return rc;
  for (const auto& key : doomed) {
    MDB_val dk = to_val(key);
    if (int r = mdb_del(txn, dbi, &dk, nullptr); r != MDB_SUCCESS) return r;
  }
  for (const auto& [key, value] : regrouped) {
    MDB_val gk = to_val(key), gv = to_val(value);
    int r = value.empty() ? mdb_del(txn, dbi, &gk, nullptr) : mdb_put(txn, dbi, &gk, &gv, 0);
    if (r != MDB_SUCCESS) return r;
  }
  return MDB_SUCCESS;
}

}  // namespace keel::backend_lmdb
