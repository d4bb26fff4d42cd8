// etcd's Maintenance.Hash: a CRC-32C of the whole Backend — every bucket's name, then each of its
// (key, value) pairs in order — leaving out the applied index (etcd's DefaultIgnores), which
// members reach at different times. Only the committed state counts: the caller commits first.
#ifndef KEEL_SERVER_BACKEND_HASH_H_
#define KEEL_SERVER_BACKEND_HASH_H_

#include <cstdint>

#include "keel/backend.h"
#include "keel/status.h"

namespace keel::server {

Result<uint32_t> backend_hash(Backend& backend);

}  // namespace keel::server

#endif  // KEEL_SERVER_BACKEND_HASH_H_
