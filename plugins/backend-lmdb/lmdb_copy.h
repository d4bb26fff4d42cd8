// The stream LmdbStore::copy_to writes and restore_lmdb reads:
//
//   header  := "KEELLMDB" u32le format (1) u32le 0
//   body    := a compacted LMDB data file (mdb_env_copyfd2 with MDB_CP_COMPACT)
//   trailer := u64le body size, u32le CRC-32 of body, "LEND"
//
// The body is taken from one LMDB read transaction, so it is consistent while writes go on.
// The trailer lets restore refuse a truncated or damaged copy (LMDB pages carry no checksums).
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LMDB_COPY_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LMDB_COPY_H_

#include "keel/backend.h"
#include "keel/logger.h"
#include "lmdb_store.h"

namespace keel::backend_lmdb {

inline constexpr size_t kCopyHeaderSize = 16;
inline constexpr size_t kCopyTrailerSize = 16;

// Builds a store in options.dir (empty or missing) from a copy.
Status restore_lmdb(const BackendOptions& options, ByteSource& copy, const LmdbSettings& settings,
                    Logger& logger);

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LMDB_COPY_H_
