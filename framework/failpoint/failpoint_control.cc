#include "failpoint/failpoint_control.h"

#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "failpoint/failpoint.h"

namespace keel::failpoint {
namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

Result<std::unique_ptr<FailpointControl>> FailpointControl::from_environment(Logger* logger) {
  std::string base = env("KEEL_FAILPOINTS");
  Status s = set_all(base);
  if (!s.ok()) return s.with_context("KEEL_FAILPOINTS");
  std::string path = env("KEEL_FAILPOINTS_FILE");
  if (path.empty()) return std::unique_ptr<FailpointControl>();
  std::unique_ptr<FailpointControl> control(new FailpointControl(std::move(base), std::move(path), logger));
  s = control->reload_if_changed();
  if (!s.ok()) return s.with_context("KEEL_FAILPOINTS_FILE");
  control->thread_ = std::thread([c = control.get()] { c->watch(); });
  return control;
}

FailpointControl::FailpointControl(std::string base, std::string path, Logger* logger)
    : base_(std::move(base)), path_(std::move(path)), logger_(logger) {}

FailpointControl::~FailpointControl() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status FailpointControl::reload_if_changed() {
  // Read whole each time and compared, not judged by its stat: two quick writes can leave the
  // same inode, size and (coarse) mtime behind.
  std::ifstream in(path_);
  std::optional<std::string> text;
  if (in) {
    std::ostringstream read;
    read << in.rdbuf();
    if (in.bad()) return Status::IOError("reading " + path_);
    text = read.str();
  } else if (std::error_code ec; std::filesystem::exists(path_, ec) || ec) {
    return Status::IOError("cannot read " + path_);
  }
  // No file (yet, or between a harness's writes) means no failpoint of the file's.
  if (read_once_ && text == last_) return Status::OK();
  // Marked read even when it does not parse: a bad file is reported once, not every poll.
  read_once_ = true;
  last_ = text;
  KEEL_RETURN_IF_ERROR(set_all(base_ + "\n" + text.value_or("")));
  std::string on;
  for (const std::string& item : list()) on += (on.empty() ? "" : "; ") + item;
  log(logger_, LogLevel::kWarn, "failpoints from " + path_ + ": " + (on.empty() ? "none on" : on));
  return Status::OK();
}

void FailpointControl::watch() {
  // The process's signals belong to whichever thread waits for them (keeld's main), never here.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, kFilePollInterval, [this] { return stopping_; })) {
    Status s = reload_if_changed();
    if (!s.ok()) log(logger_, LogLevel::kError, "failpoints not changed: " + s.to_string());
  }
}

}  // namespace keel::failpoint
