// backend_crash_writer <plugin> <dir>: the child of backend_crash_test. Opens the store, goes on
// from the newest batch in it, and writes batches (crash_batches.h) with synced commits forever,
// printing each batch's number on stdout once its commit returned. Every 25th batch it also
// defragments, so some kills land in the middle of one. The parent kills it at random.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend_test_util.h"
#include "crash_batches.h"

int main(int argc, char** argv) {
  using namespace keel;
  using namespace keel::testing;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <plugin> <dir>\n", argv[0]);
    return 2;
  }
  auto fail = [](const char* what, const Status& s) {
    std::fprintf(stderr, "crash writer: %s: %s\n", what, s.to_string().c_str());
    return 1;
  };
  auto plugin = load_backend(argv[1]);
  if (!plugin.ok()) return fail("load", plugin.status());
  BackendOptions options;
  options.dir = argv[2];
  auto store = (*plugin)->open(options);
  if (!store.ok()) return fail("open", store.status());
  Status s = (*store)->create_bucket(kCrashBucket);
  if (!s.ok()) return fail("create bucket", s);
  uint64_t last = 0;
  {
    auto tx = (*store)->begin_read();
    if (!tx.ok()) return fail("begin read", tx.status());
    std::string v;
    s = (*tx)->get(kCrashBucket, "last", &v);
    if (s.ok()) last = std::stoull(v);
    else if (!s.is_not_found()) return fail("read last", s);
  }
  for (uint64_t n = last + 1;; ++n) {
    WriteBatch w;
    add_batch(n, &w);
    s = (*store)->commit(w, true);
    if (!s.ok()) return fail("commit", s);
    if (n % 25 == 0) {
      s = (*store)->defragment();
      if (!s.ok()) return fail("defragment", s);
    }
    std::string ack = std::to_string(n) + "\n";
    if (::write(STDOUT_FILENO, ack.data(), ack.size()) != static_cast<ssize_t>(ack.size())) return 1;
  }
}
