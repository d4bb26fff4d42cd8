// keel::ByteSink and keel::ByteSource: byte streams across the plugin boundary (a Backend's copy
// of itself, a snapshot on its way to a follower). A write that blocks is the back-pressure.
//
// Thread safety: one thread at a time uses a given stream.
#ifndef KEEL_BYTE_STREAM_H_
#define KEEL_BYTE_STREAM_H_

#include <cstddef>
#include <string_view>

#include "keel/status.h"

namespace keel {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Takes all of `data` or fails; a failure is final for this stream.
  virtual Status write(std::string_view data) = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; returns how many, 0 only at the end of the stream.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
};

}  // namespace keel

#endif  // KEEL_BYTE_STREAM_H_
