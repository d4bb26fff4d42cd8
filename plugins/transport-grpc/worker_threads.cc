#include "worker_threads.h"

#include <system_error>

namespace keel::grpc_transport {

bool WorkerThreads::start(std::function<void()> work) {
  std::lock_guard<std::mutex> lock(mu_);
  reap_locked();
  if (closed_ || slots_.size() >= limit_) return false;
  slots_.emplace_back();
  Slot* slot = &slots_.back();
  try {
    slot->thread = std::thread([this, slot, work = std::move(work)] {
      work();
      std::lock_guard<std::mutex> l(mu_);
      slot->finished = true;
    });
  } catch (const std::system_error&) {
    slots_.pop_back();
    return false;
  }
  return true;
}

void WorkerThreads::join_all() {
  std::list<Slot> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    slots.swap(slots_);
  }
  for (auto& s : slots) {
    if (s.thread.joinable()) s.thread.join();
  }
}

void WorkerThreads::reap_locked() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (it->finished) {
      it->thread.join();  // it has left `work` and only returns now
      it = slots_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace keel::grpc_transport
