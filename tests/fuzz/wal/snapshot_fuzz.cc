// libFuzzer: any bytes as a snapshot file. Loading must refuse what is not whole and valid with a
// Status, never crash, over-read or allocate without bound.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>

#include "wal/snapshot_file.h"

namespace {

class DiscardSink : public keel::ByteSink {
 public:
  keel::Status write(std::string_view) override { return keel::Status::OK(); }
};

const std::string& path() {
  static const std::string p = "/tmp/keel-snapshot-fuzz-" + std::to_string(getpid()) + ".snap";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace keel::wal;
  std::ofstream(path(), std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                   static_cast<std::streamsize>(size));
  FileSystem& fs = posix_file_system();
  (void)read_snapshot_info(fs, path());
  DiscardSink sink;
  (void)read_snapshot_data(fs, path(), sink);
  return 0;
}
