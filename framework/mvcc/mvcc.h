// framework/mvcc: keel's multi-version key-value store (namespace keel::mvcc), the kernel's state
// machine for etcd's KV API, kept in a keel::Backend.
//
// What it offers:
//   KvStore (kv_store.h)   Range, Put, DeleteRange, Txn, Compact, HashKV and past events over a
//                          Backend; batched commits carrying the applied Raft index; the overlay
//                          that makes applied writes readable before their commit.
//   requests.h             RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest, Compare,
//                          RequestOp and their responses: etcd's messages as plain structs.
//   errors.h               etcd's errors (codes and exact texts) the store returns.
//   validate.h             etcd's request checks (empty key, duplicate keys in a txn, ...).
//   LeaseHooks             how the lease module learns which keys attach to which lease.
// Underneath: KeyIndex (key -> generations of revisions), Overlay, ValueReader, the revision key
// layout (revision.h) and keel's KeyValue encoding (kv_codec.h); docs/format/mvcc.md has the bytes.
//
// MVCC reaches the store only through keel::Backend; it never includes a plugin's headers.
#ifndef KEEL_MVCC_MVCC_H_
#define KEEL_MVCC_MVCC_H_

#include "mvcc/errors.h"
#include "mvcc/kv_store.h"
#include "mvcc/lease_hooks.h"
#include "mvcc/requests.h"
#include "mvcc/validate.h"

#endif  // KEEL_MVCC_MVCC_H_
