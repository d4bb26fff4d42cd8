#include "keys.h"

#include <cstdio>

namespace keel::bench {

KeySpace::KeySpace(const Options& o)
    : prefix_(o.key_prefix),
      width_(o.key_size - static_cast<int>(o.key_prefix.size())),
      size_(o.key_space_size),
      sequential_(o.sequential_keys) {}

std::string KeySpace::key(uint64_t index) const {
  std::string k = prefix_;
  char digits[17];
  const int n = std::snprintf(digits, sizeof digits, "%llx", static_cast<unsigned long long>(index));
  k.append(static_cast<size_t>(width_ > n ? width_ - n : 0), '0');
  k.append(digits, static_cast<size_t>(n));
  return k;
}

uint64_t KeySpace::pick(uint64_t op, std::mt19937_64& rng) const {
  if (sequential_) return op % size_;
  return std::uniform_int_distribution<uint64_t>(0, size_ - 1)(rng);
}

std::string make_value(int size, uint64_t seed) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 rng(seed);
  std::string v(static_cast<size_t>(size), 'x');
  for (auto& c : v) c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
  return v;
}

}  // namespace keel::bench
