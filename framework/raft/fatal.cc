#include "raft/fatal.h"

#include <cstdio>
#include <cstdlib>

namespace keel::raft {

void Fatal(const std::string& what) {
  std::fprintf(stderr, "keel raft: fatal: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace keel::raft
