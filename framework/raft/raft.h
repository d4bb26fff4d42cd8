// keel's Raft kernel: consensus as a pure state machine (no I/O, threads, clock or randomness
// of its own). What this folder offers:
//
//   raw_node.h        RawNode, Ready, the driver's duties          <- start here
//   raft_core.h       Config, Raft (the state machine itself)
//   messages.h        Entry, Message, ConfChange, ConfState, Snapshot, HardState, SoftState
//   storage.h         Storage: the durable log as Raft reads it (the WAL implements it)
//   memory_storage.h  MemoryStorage: the in-memory reference Storage
//   codec.h           the stable binary encoding (docs/format/raft-messages.md)
//   errors.h          the kernel's errors as keel::Status values
//   random.h          RandomSource, SplitMix64
//   log.h progress.h tracker.h quorum.h read_only.h   the parts inside Raft
//
// The target keel_raft links nothing but the C++ standard library.
#ifndef KEEL_RAFT_RAFT_H_
#define KEEL_RAFT_RAFT_H_

#include "raft/codec.h"
#include "raft/errors.h"
#include "raft/memory_storage.h"
#include "raft/messages.h"
#include "raft/raft_core.h"
#include "raft/random.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

#endif  // KEEL_RAFT_RAFT_H_
