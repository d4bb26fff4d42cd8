// The stream LeveldbStore::copy_to writes and restore_leveldb reads: every stored entry (bucket
// registry and data, see leveldb_keys.h) of one snapshot, in key order.
//
//   header := "KEELLVDB" u32le format (1) u32le 0
//   record := u32le key_size, u32le value_size, key, value, u32le CRC-32 of the record before it
//   end    := u32le 0xFFFFFFFF, u32le 0, u64le number of records, u32le CRC-32 of the end before it
//
// Restore checks every CRC and the count, so a damaged or cut copy is refused, never half-used.
#ifndef KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_COPY_H_
#define KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_COPY_H_

#include "keel/backend.h"
#include "keel/logger.h"
#include "leveldb_store.h"

namespace keel::backend_leveldb {

// Builds a store in options.dir (empty or missing) from a copy.
Status restore_leveldb(const BackendOptions& options, ByteSource& copy,
                       const LeveldbSettings& settings, Logger& logger);

}  // namespace keel::backend_leveldb

#endif  // KEEL_PLUGINS_BACKEND_LEVELDB_LEVELDB_COPY_H_
