// RandomSource: the only randomness Raft uses (randomized election timeouts, §3.4), handed in by
// the driver so that runs are reproducible from a seed.
#ifndef KEEL_RAFT_RANDOM_H_
#define KEEL_RAFT_RANDOM_H_

#include <cstdint>

namespace keel::raft {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  // A uniformly distributed value in [0, n). REQUIRES: n > 0.
  virtual uint64_t uniform(uint64_t n) = 0;
};

// SplitMix64: small, fast, and fully determined by its seed. Good enough for timeouts and for
// the simulator; not for anything secret.
class SplitMix64 final : public RandomSource {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t uniform(uint64_t n) override { return next() % n; }

 private:
  uint64_t state_;
};

}  // namespace keel::raft

#endif  // KEEL_RAFT_RANDOM_H_
