// The member's log, written with spdlog, offered to plugins as a keel::Logger.
#ifndef KEEL_SERVICES_KEELD_SPDLOG_LOGGER_H_
#define KEEL_SERVICES_KEELD_SPDLOG_LOGGER_H_

#include <string>

#include "keel/logger.h"

namespace keel {

class SpdlogLogger : public Logger {
 public:
  // `level` is etcd's --log-level: debug, info, warn, error, panic or fatal.
  explicit SpdlogLogger(const std::string& level);
  void log(LogLevel level, std::string_view message) override;
};

}  // namespace keel

#endif  // KEEL_SERVICES_KEELD_SPDLOG_LOGGER_H_
