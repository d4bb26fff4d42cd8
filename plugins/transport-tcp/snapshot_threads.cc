#include "snapshot_threads.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <system_error>

namespace keel::tcp {

bool SnapshotThreads::start(std::function<void(Slot&)> work) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping()) return false;
  reap_locked();
  if (slots_.size() >= limit_) return false;
  Slot& slot = slots_.emplace_back();
  try {
    slot.thread = std::thread([this, &slot, work = std::move(work)] {
      work(slot);
      std::lock_guard<std::mutex> lock(mu_);
      slot.finished = true;
    });
  } catch (const std::system_error&) {
    slots_.pop_back();
    return false;
  }
  return true;
}

void SnapshotThreads::reap_locked() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!it->finished) {
      ++it;
      continue;
    }
    // It has set `finished` as its last act under mu_, so it ends without waiting for us.
    it->thread.join();
    it = slots_.erase(it);
  }
}

SocketHooks SnapshotThreads::hooks(Slot& slot) {
  return SocketHooks{[this, &slot](int fd) { return adopt(slot, fd); },
                     [this, &slot](int) { forget(slot); },
                     [this] { return stopping(); }};
}

bool SnapshotThreads::adopt(Slot& slot, int fd) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping()) return false;
  slot.fd = fd;
  return true;
}

void SnapshotThreads::forget(Slot& slot) {
  std::lock_guard<std::mutex> lock(mu_);
  slot.fd = -1;
}

void SnapshotThreads::stop_all() {
  std::list<Slot> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true, std::memory_order_release);
    for (Slot& s : slots_) {
      if (s.fd >= 0) ::shutdown(s.fd, SHUT_RDWR);
    }
  }
  // Join without the lock (each thread takes it once more on its way out); nobody adds threads
  // any more. The slots stay in slots_ until joined, so `slot` references stay valid.
  for (Slot& s : slots_) {
    if (s.thread.joinable()) s.thread.join();
  }
  std::lock_guard<std::mutex> lock(mu_);
  slots_.swap(slots);
}

std::unique_ptr<OwnedFd> adopt_blocking(SnapshotThreads& threads, SnapshotThreads::Slot& slot, int fd) {
  if (!threads.adopt(slot, fd)) {
    ::close(fd);
    return nullptr;
  }
  auto owned = std::make_unique<OwnedFd>(threads, slot, fd);
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return owned;
}

}  // namespace keel::tcp
