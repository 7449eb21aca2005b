#include "gateway/service/inbox_notifier.hpp"

#include <vector>

namespace bl {

std::uint64_t inbox_notifier::wait(const std::string& agency, waiter w) {
  std::lock_guard lock(mu_);
  auto id = next_++;
  waiters_.emplace(id, entry{agency, std::move(w)});
  return id;
}

void inbox_notifier::cancel(std::uint64_t ticket) {
  std::lock_guard lock(mu_);
  waiters_.erase(ticket);
}

void inbox_notifier::notify(const std::set<std::string>& agencies) {
  std::vector<waiter> ready;
  {
    std::lock_guard lock(mu_);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (agencies.count(it->second.agency)) {
        ready.push_back(std::move(it->second.fn));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  // Called outside the lock so a waiter may register again straight away.
  for (auto& w : ready) w();
}

void inbox_notifier::notify_all() {
  std::vector<waiter> ready;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, e] : waiters_) ready.push_back(std::move(e.fn));
    waiters_.clear();
  }
  for (auto& w : ready) w();
}

}  // namespace bl
