#include "notifier.h"

#include <vector>

namespace keel::grpc_transport {

Notifier::Notifier(TransportHandler& handler) : handler_(handler), thread_([this] { run(); }) {}

void Notifier::report_unreachable(MemberId peer) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || !unreachable_.insert(peer).second) return;
  cv_.notify_one();
}

bool Notifier::post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return false;
  tasks_.push_back(std::move(task));
  cv_.notify_one();
  return true;
}

void Notifier::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    unreachable_.clear();
    cv_.notify_one();
  }
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void Notifier::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !unreachable_.empty() || !tasks_.empty(); });
    if (!unreachable_.empty()) {
      std::vector<MemberId> peers(unreachable_.begin(), unreachable_.end());
      unreachable_.clear();
      lock.unlock();
      for (MemberId peer : peers) handler_.on_unreachable(peer);
      lock.lock();
      continue;
    }
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (stopping_) return;
  }
}

}  // namespace keel::grpc_transport
