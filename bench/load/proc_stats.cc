#include "proc_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace keel::bench {

Result<ProcSample> read_proc(int pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat(dir + "/stat");
  std::string line;
  if (!stat || !std::getline(stat, line)) return Status::NotFound("no process " + std::to_string(pid));
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the
  // last ')'. utime and stime are fields 14 and 15, so the 12th and 13th after it.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return Status::Corruption(dir + "/stat: no ')' in " + line);
  std::istringstream rest(line.substr(close + 1));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  ProcSample s;
  s.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));

  std::ifstream status(dir + "/status");
  while (std::getline(status, line)) {
    std::istringstream in(line);
    std::string name;
    unsigned long long kib = 0;
    in >> name >> kib;
    if (name == "VmHWM:") s.peak_rss_bytes = kib * 1024;
    if (name == "VmRSS:") s.rss_bytes = kib * 1024;
  }
  return s;
}

bool reset_peak_rss(int pid) {
  std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
  if (!clear) return false;
  clear << "5\n";
  clear.flush();
  return static_cast<bool>(clear);
}

double self_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

}  // namespace keel::bench
