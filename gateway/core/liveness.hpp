#pragma once
// Liveness of the gateway's long-lived threads (docs/architecture.md, "Failure policy"). Each
// thread beats at least once a second while it is healthy (the engine on every loop, which its
// 250 ms timer sweep guarantees; the CAD link on every poll; the console hub on every pass). The
// app's watchdog reads the ages: a thread that has not beaten for limits.thread_stall_s is
// stalled, and the gateway says so and restarts (the same policy as a thread that died).
// Thread-safe: beats are relaxed atomic stores; components register before their threads start.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bl {

class liveness {
 public:
  /// One thread's beat. Stays valid as long as the registry.
  class beat {
   public:
    void operator()() { at_.store(now(), std::memory_order_relaxed); }
    double age_s() const { return (now() - at_.load(std::memory_order_relaxed)) / 1e3; }

   private:
    static std::int64_t now() {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    }
    std::atomic<std::int64_t> at_{now()};
  };

  /// Registers `component` (counted as beating now) and returns its beat.
  beat& add(const std::string& component) {
    std::lock_guard lock(mu_);
    beats_.emplace_back(component, std::make_unique<beat>());
    return *beats_.back().second;
  }

  /// Each component and the seconds since its last beat.
  std::vector<std::pair<std::string, double>> ages() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::string, double>> out;
    for (const auto& [name, b] : beats_) out.emplace_back(name, b->age_s());
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<std::string, std::unique_ptr<beat>>> beats_;
};

}  // namespace bl
