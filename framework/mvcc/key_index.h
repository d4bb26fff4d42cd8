// KeyIndex: the in-memory index of the MVCC store, an ordered map from each key to its generations
// of revisions (etcd's keyIndex/treeIndex). It answers which revision of a key is visible at
// revision R; values live in the Backend (and the store's overlay), keyed by revision.
//
// A generation is one life of a key: from the put that created it to the delete (tombstone) that
// ended it. The tombstone is the last revision of its generation and is followed by an empty
// generation, in which the next put starts a new life. `version` counts the changes of a
// generation, tombstone included, and survives compaction.
//
// Thread safety: internally locked; lookups run concurrently with each other, the writer's
// mutations (one writer) take the lock exclusively for one key at a time (compact: one pass).
#ifndef KEEL_MVCC_KEY_INDEX_H_
#define KEEL_MVCC_KEY_INDEX_H_

#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "keel/kv.h"
#include "keel/status.h"
#include "mvcc/key_range.h"

namespace keel::mvcc {

// What a key looks like at a revision.
struct KeyState {
  Revision modified;   // the revision holding the value
  int64_t created = 0; // create_revision (main)
  int64_t version = 0;
};

// A key visible at a revision, as ranges and deletes need it.
struct IndexedKey {
  std::string key;
  KeyState state;
  int64_t lease = 0;  // the key's current lease (meaningful at the latest revision only)
};

class KeyIndex {
 public:
  KeyIndex() = default;
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  // --- the writer ---
  // A put of `key` at `rev` with `lease`.
  void put(std::string_view key, Revision rev, int64_t lease);
  // A delete of `key` at `rev`. FailedPrecondition if the key is not live.
  Status tombstone(std::string_view key, Revision rev);
  // Rebuilding at open: the revision `rev` of `kv` as read from the Backend, in revision order.
  // A key's first surviving revision after a compaction sits mid-generation, so a new generation
  // takes its created revision and version from the stored KeyValue.
  void restore(const KeyValue& kv, Revision rev, bool tombstone);
  // Drops every revision no longer visible at `at_rev` or later. Returns the revisions <= at_rev
  // that stay (sorted); every other revision <= at_rev may be deleted from the Backend.
  std::vector<Revision> compact(int64_t at_rev);

  // --- readers ---
  std::optional<KeyState> get(std::string_view key, int64_t at_rev) const;
  // The latest state and lease of `key` if it is live at `at_rev`.
  std::optional<IndexedKey> get_latest(std::string_view key, int64_t at_rev) const;
  // Revisions visible at `at_rev` of the keys in `range`, in key order: at most `limit` (0 = all);
  // *total (if given) gets how many there are in all.
  std::vector<Revision> revisions(const KeyRange& range, int64_t at_rev, size_t limit,
                                  int64_t* total) const;
  int64_t count(const KeyRange& range, int64_t at_rev) const;
  // The keys of `range` live at `at_rev`, with their states and leases.
  std::vector<IndexedKey> keys(const KeyRange& range, int64_t at_rev) const;
  // What compact(at_rev) would keep, without changing anything (for HashKV).
  std::vector<Revision> keep(int64_t at_rev) const;

  size_t size() const;
  // Checks the invariants of every key (revisions rise, generations well formed); for tests.
  Status check() const;

 private:
  struct Generation {
    int64_t version = 0;  // changes in this generation so far (tombstone included)
    int64_t created = 0;  // create_revision of this generation
    std::vector<Revision> revs;
  };
  struct KeyHistory {
    std::vector<Generation> generations;  // the last one is the live (or empty) generation
    int64_t lease = 0;                    // lease of the latest put; 0 after a delete
    bool empty() const { return generations.size() == 1 && generations[0].revs.empty(); }
  };
  using Map = std::map<std::string, KeyHistory, std::less<>>;

  static std::optional<KeyState> state_at(const KeyHistory& h, int64_t at_rev);
  // Where compaction at `at_rev` leaves `h`: the generation to keep from and the index of the kept
  // revision in it (-1: none <= at_rev), or keep nothing of generations < gen.
  static void compact_point(const KeyHistory& h, int64_t at_rev, size_t* gen, int64_t* rev_index);
  template <typename F>
  void for_each_in(const KeyRange& range, F&& f) const;

  mutable std::shared_mutex mu_;
  Map keys_;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_KEY_INDEX_H_
