// keel::Logger: how a plugin writes to the member's log. The host owns the logger and keeps it
// alive longer than every plugin object; a plugin keeps the reference it was given.
//
// Thread safety: log may be called from any thread at once.
#ifndef KEEL_LOGGER_H_
#define KEEL_LOGGER_H_

#include <string_view>

namespace keel {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;

  void debug(std::string_view m) { log(LogLevel::kDebug, m); }
  void info(std::string_view m) { log(LogLevel::kInfo, m); }
  void warn(std::string_view m) { log(LogLevel::kWarn, m); }
  void error(std::string_view m) { log(LogLevel::kError, m); }
};

// Logs through `logger` when there is one (a component whose logger is optional).
inline void log(Logger* logger, LogLevel level, std::string_view message) {
  if (logger != nullptr) logger->log(level, message);
}

}  // namespace keel

#endif  // KEEL_LOGGER_H_
