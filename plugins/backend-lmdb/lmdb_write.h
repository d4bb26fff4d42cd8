// The writes of a WriteBatch, applied inside one LMDB write transaction. Keys longer than LMDB
// allows go through their long-key group (long_keys.h). MDB_MAP_FULL comes back as the raw LMDB
// code through `*rc` so the caller can grow the map and retry.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LMDB_WRITE_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LMDB_WRITE_H_

#include <lmdb.h>

#include <string_view>

#include "keel/status.h"

namespace keel::backend_lmdb {

// Each returns the LMDB code of the first failing call (MDB_SUCCESS if none); a malformed group
// record is reported as MDB_CORRUPTED.
int lmdb_put(MDB_txn* txn, MDB_dbi dbi, std::string_view key, std::string_view value);
int lmdb_erase(MDB_txn* txn, MDB_dbi dbi, std::string_view key);
// Deletes every key in [begin, end).
int lmdb_erase_range(MDB_txn* txn, MDB_dbi dbi, std::string_view begin, std::string_view end);

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LMDB_WRITE_H_
