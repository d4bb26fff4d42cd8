// How keeld takes its failpoints (failpoint.h) from its environment:
//   KEEL_FAILPOINTS       "name=term;name=term", switched on before the member starts
//   KEEL_FAILPOINTS_FILE  a file of name=term lines, read at start and again each time it
//                         changes, so a test switches failpoints while the member runs: each read
//                         makes the failpoints KEEL_FAILPOINTS's, then the file's over them. A
//                         harness writes the file whole and renames it into place.
// Neither set: no failpoint is ever on, and no thread is started.
//
// Thread safety: FailpointControl's own thread reads the file; its methods are the owner's.
#ifndef KEEL_FAILPOINT_FAILPOINT_CONTROL_H_
#define KEEL_FAILPOINT_FAILPOINT_CONTROL_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "keel/logger.h"
#include "keel/status.h"

namespace keel::failpoint {

// How often the file is looked at for a change.
inline constexpr std::chrono::milliseconds kFilePollInterval{50};

class FailpointControl {
 public:
  // Switches on what the environment says. A term that does not parse, or a file that cannot be
  // read, is an error here (keeld refuses to start); later, a bad file is logged and changes
  // nothing. `logger` (not owned) outlives the control.
  static Result<std::unique_ptr<FailpointControl>> from_environment(Logger* logger);
  // Stops the file's thread; the failpoints stay as they are.
  ~FailpointControl();

 private:
  FailpointControl(std::string base, std::string path, Logger* logger);
  // Reads the file, and sets the failpoints when it changed since the last read.
  Status reload_if_changed();
  void watch();

  const std::string base_;  // KEEL_FAILPOINTS
  const std::string path_;
  Logger* const logger_;
  bool read_once_ = false;
  std::optional<std::string> last_;  // the file as last read (none: there was no file)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace keel::failpoint

#endif  // KEEL_FAILPOINT_FAILPOINT_CONTROL_H_
