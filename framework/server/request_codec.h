// The binary encoding of an InternalRequest in a Raft entry (docs/format/requests.md). It is part
// of what a WAL holds, so it is versioned: a format byte leads, and decoding checks every length
// against what is left and requires the whole input to be consumed. Garbage is Corruption, never
// a crash or an over-read.
#ifndef KEEL_SERVER_REQUEST_CODEC_H_
#define KEEL_SERVER_REQUEST_CODEC_H_

#include <string>
#include <string_view>

#include "keel/status.h"
#include "server/request.h"

namespace keel::server {

inline constexpr uint8_t kRequestFormat = 1;
// Txns nest at most this deep (the top level counts as 1). Deeper ones would encode but no member
// could decode them, so the API edge refuses them before proposing.
inline constexpr int kMaxTxnDepth = 64;

// The nesting depth of `txn` (1 for a txn with no nested txn).
int txn_depth(const mvcc::TxnRequest& txn);

std::string encode_request(const InternalRequest& request);
Result<InternalRequest> decode_request(std::string_view data);

}  // namespace keel::server

#endif  // KEEL_SERVER_REQUEST_CODEC_H_
