// Maps LMDB's return codes onto keel::Status codes, naming what was being done.
#ifndef KEEL_PLUGINS_BACKEND_LMDB_LMDB_STATUS_H_
#define KEEL_PLUGINS_BACKEND_LMDB_LMDB_STATUS_H_

#include <lmdb.h>

#include <cerrno>
#include <string>

#include "keel/status.h"

namespace keel::backend_lmdb {

inline Status lmdb_status(int rc, const std::string& what) {
  if (rc == MDB_SUCCESS) return Status::OK();
  std::string m = "lmdb: " + what + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND: return Status::NotFound(m);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
      return Status::Corruption(m);
    case MDB_MAP_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_DBS_FULL:
    case MDB_TLS_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case ENOMEM:
      return Status::ResourceExhausted(m);
    case MDB_BAD_VALSIZE:
    case EINVAL:
      return Status::InvalidArgument(m);
    default:
      break;
  }
  // Anything else LMDB returns is an errno from a file operation (EIO, ENOSPC, EROFS, ...).
  if (rc > 0) return Status::IOError(m);
  return Status::Internal(m);
}

}  // namespace keel::backend_lmdb

#endif  // KEEL_PLUGINS_BACKEND_LMDB_LMDB_STATUS_H_
