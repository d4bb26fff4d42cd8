// Appends synced entries to a WAL until killed, writing the index of each acknowledged (synced)
// entry to stdout as 8 raw bytes. Usage: wal_crash_child <dir> <seed>
#include <unistd.h>

#include <cstdio>
#include <random>

#include "wal/wal.h"
#include "wal_test_util.h"

int main(int argc, char** argv) {
  using namespace keel::wal;
  if (argc != 3) return 2;
  const std::string dir = argv[1];
  std::mt19937_64 rng(std::stoull(argv[2]));
  WalOptions options;
  options.segment_bytes = 64 << 10;
  FileSystem& fs = posix_file_system();
  std::unique_ptr<Wal> wal;
  uint64_t next = 1;
  if (*Wal::exists(fs, dir)) {
    WalContents c;
    auto w = Wal::open(fs, dir, options, &c);
    if (!w.ok()) {
      std::fprintf(stderr, "%s\n", w.status().to_string().c_str());
      return 1;
    }
    wal = std::move(w).value();
    next = c.entries.empty() ? c.snapshot.index + 1 : c.entries.back().index + 1;
  } else {
    wal = std::move(Wal::create(fs, dir, WalMetadata{7, 9}, options)).value();
  }
  for (;;) {
    std::vector<keel::raft::Entry> batch;
    for (uint64_t n = 1 + rng() % 5; n > 0; --n, ++next) batch.push_back(make_entry(next, 1, rng() % 3000));
    keel::Status s = wal->save(hard_state(1, 1, next - 1), batch, true);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.to_string().c_str());
      return 1;
    }
    uint64_t acked = next - 1;
    if (write(STDOUT_FILENO, &acked, sizeof acked) != sizeof acked) return 1;
  }
}
