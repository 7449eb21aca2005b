#pragma once
// Wakes long-polling inbox readers when the engine commits deliveries for their agency.
// Thread-safe. A waiter is called at most once, from the engine thread, and must only post work
// to its own executor (never block).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace bl {

class inbox_notifier {
 public:
  using waiter = std::function<void()>;

  /// Registers a one-shot waiter for `agency`; returns a ticket for cancel().
  std::uint64_t wait(const std::string& agency, waiter w);
  /// Drops a waiter that no longer needs waking (it timed out or found data itself).
  void cancel(std::uint64_t ticket);
  /// Calls and removes every waiter registered for any of `agencies`.
  void notify(const std::set<std::string>& agencies);
  /// Calls and removes every waiter (shutdown).
  void notify_all();

 private:
  struct entry {
    std::string agency;
    waiter fn;
  };
  std::mutex mu_;
  std::uint64_t next_ = 1;
  std::map<std::uint64_t, entry> waiters_;
};

}  // namespace bl
