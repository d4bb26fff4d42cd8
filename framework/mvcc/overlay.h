// Overlay: the revisions applied but not yet committed to the Backend, in revision order, so reads
// see every applied write at once. Readers look values up in place under a shared lock (a read
// copies only the values it returns); the writer appends, and trims the front once a commit has
// put those revisions in the Backend.
//
// Why reads stay correct across a trim: a reader looks here first and opens its Backend read
// transaction only afterwards. A revision it misses here was trimmed before the look-up, so it was
// committed before the transaction began, and the transaction sees it.
//
// Thread safety: append/trim/for_each_pending from the one writer; lookup from any thread.
#ifndef KEEL_MVCC_OVERLAY_H_
#define KEEL_MVCC_OVERLAY_H_

#include <deque>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "keel/kv.h"
#include "keel/status.h"

namespace keel::mvcc {

class Overlay {
 public:
  struct Entry {
    Revision rev;
    bool tombstone = false;
    std::string value;  // the encoded KeyValue
  };

  // REQUIRES: rev is above every revision held.
  void append(Revision rev, bool tombstone, std::string value);
  // For each of `revs` (any order) found here, decodes it into (*out)[i] and sets (*found)[i].
  // Returns the first decoding error.
  Status lookup(const std::vector<Revision>& revs, bool keys_only, std::vector<KeyValue>* out,
                std::vector<bool>* found) const;
  // Calls f on every entry, oldest first, under the shared lock (for the writer's commit and for
  // HashKV).
  void for_each(const std::function<void(const Entry&)>& f) const;
  // Drops the n oldest entries (now in the Backend).
  void trim(size_t n);
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::deque<Entry> entries_;
};

}  // namespace keel::mvcc

#endif  // KEEL_MVCC_OVERLAY_H_
