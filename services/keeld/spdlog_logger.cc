#include "spdlog_logger.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace keel {

SpdlogLogger::SpdlogLogger(const std::string& level) {
  // etcd logs to stderr; so does keeld, leaving stdout to what the user asked for.
  spdlog::set_default_logger(spdlog::stderr_color_mt("keeld"));
  spdlog::level::level_enum l = spdlog::level::info;
  if (level == "debug") l = spdlog::level::debug;
  else if (level == "warn") l = spdlog::level::warn;
  else if (level == "error") l = spdlog::level::err;
  else if (level == "panic" || level == "fatal") l = spdlog::level::critical;
  spdlog::set_level(l);
}

void SpdlogLogger::log(LogLevel level, std::string_view message) {
  switch (level) {
    case LogLevel::kDebug: spdlog::debug("{}", message); break;
    case LogLevel::kInfo: spdlog::info("{}", message); break;
    case LogLevel::kWarn: spdlog::warn("{}", message); break;
    case LogLevel::kError: spdlog::error("{}", message); break;
  }
}

}  // namespace keel
