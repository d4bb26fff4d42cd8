#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace keel::bench {

Progress::Progress(bool wanted, std::string title) : on_(wanted && isatty(STDERR_FILENO)), title_(std::move(title)) {}

void Progress::draw(double fraction, uint64_t done, double elapsed_s) {
  if (!on_) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(std::clamp(fraction, 0.0, 1.0) * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  std::fprintf(stderr, "\r%s [%s] %3.0f%%  %llu ops  %.0f ops/s  %.1f s ", title_.c_str(), bar.c_str(),
               100 * fraction, static_cast<unsigned long long>(done), elapsed_s > 0 ? done / elapsed_s : 0.0,
               elapsed_s);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!on_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace keel::bench
