// Progress: a one-line progress bar on stderr, redrawn in place, only when stderr is a terminal
// (so logs and the JSON line on stdout stay clean when a script runs keel-bench).
#ifndef KEEL_BENCH_LOAD_PROGRESS_H_
#define KEEL_BENCH_LOAD_PROGRESS_H_

#include <cstdint>
#include <string>

namespace keel::bench {

class Progress {
 public:
  Progress(bool wanted, std::string title);
  // fraction in [0, 1]; done: operations completed so far.
  void draw(double fraction, uint64_t done, double elapsed_s);
  // Clears the line.
  void finish();

 private:
  bool on_;
  std::string title_;
};

}  // namespace keel::bench

#endif  // KEEL_BENCH_LOAD_PROGRESS_H_
