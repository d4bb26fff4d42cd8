// KeySpace: the keys and values a run writes and reads.
//
// Key i of a key space of n keys is --key-prefix followed by i in zero-padded hex, --key-size
// bytes in all: printable (so etcdctl shows them), distinct, and in index order, so a prefix or
// --from-key count says how many were written.
#ifndef KEEL_BENCH_LOAD_KEYS_H_
#define KEEL_BENCH_LOAD_KEYS_H_

#include <cstdint>
#include <random>
#include <string>

#include "options.h"

namespace keel::bench {

class KeySpace {
 public:
  explicit KeySpace(const Options& o);

  uint64_t size() const { return size_; }
  std::string key(uint64_t index) const;
  // Operation `op`'s key index: op mod size for sequential keys, else uniform from `rng`.
  uint64_t pick(uint64_t op, std::mt19937_64& rng) const;

 private:
  std::string prefix_;
  int width_;
  uint64_t size_;
  bool sequential_;
};

// A value of `size` bytes: printable, the same for every put (etcd's benchmark does likewise).
std::string make_value(int size, uint64_t seed);

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_KEYS_H_
