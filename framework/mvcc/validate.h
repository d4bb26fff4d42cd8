// The checks etcd makes on a request before it reaches the store (etcd's v3rpc/key.go): empty
// keys, ignore_value/ignore_lease with a value or lease, empty ops, too many ops and overlapping
// writes in one txn branch. Pure functions of the request; the store runs them again at apply
// time so a request that skipped the API edge still gets etcd's error and changes nothing.
#ifndef KEEL_MVCC_VALIDATE_H_
#define KEEL_MVCC_VALIDATE_H_

#include <cstddef>

#include "keel/status.h"
#include "mvcc/requests.h"

namespace keel::mvcc {

inline constexpr size_t kDefaultMaxTxnOps = 128;  // --max-txn-ops

Status validate(const RangeRequest& r);
Status validate(const PutRequest& r);
Status validate(const DeleteRangeRequest& r);
Status validate(const TxnRequest& r, size_t max_txn_ops = kDefaultMaxTxnOps);

// Whether a txn (its nested txns too) puts or deletes anything. One that does not is a read: the
// member serves it without a Raft entry (etcd's isTxnReadonly).
bool txn_writes(const TxnRequest& r);
// Whether every op on both branches (nested txns too) is a serializable range: such a read-only
// txn is served locally, without a ReadIndex round (etcd's isTxnSerializable).
bool txn_serializable(const TxnRequest& r);

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_VALIDATE_H_
