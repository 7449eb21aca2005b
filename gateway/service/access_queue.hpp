#pragma once
// Consultations for the personal-data access log (issue 18, DPA 2018 s.62), queued and written
// in large batches: a read hands its entries here and is answered at once, and a thread of the
// queue's own gives everything queued to the engine every `interval` as one job (one transaction)
// and waits for it to commit. Handing each read's entries to the engine and waiting for them
// cost a read about 130 µs of the gateway's CPU (docs/benchmarks.md); this costs a mutex.
//
// What it gives up: a read is answered once its entries are queued, so a crash loses the entries
// of the last `interval` (and of a batch being written). The queue is bounded: full, a read is
// refused (bl.store.busy). While the engine refuses a batch (the store failing), the batch is
// kept and tried again, and every read is refused (bl.store.unavailable) until it goes through:
// nothing more is shown that the log might not hold. The engine's own failure shows in /healthz.
//
// Nothing fails in silence: the thread beats (the app's watchdog restarts a stalled gateway), a
// failing batch shows in status() (/healthz 503, /metrics), and a thread that dies calls the
// failure handler (the app's failure policy: degraded, drain, exit 5 for a restart).
//
// Thread-safety: record() and status() from any thread. set_beat() and set_failure_handler()
// before start(). stop() flushes what is queued (before the engine stops) and joins.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/core/error.hpp"
#include "gateway/core/liveness.hpp"
#include "gateway/store/access_log.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class engine;

class access_queue {
 public:
  /// What /healthz and /metrics show of the queue.
  struct status {
    bool failing = false;      // the last batch was refused, or the thread stopped
    std::string error;         // why
    double failing_for_s = 0;  // since the first refusal
    std::size_t pending = 0;   // entries queued and not yet written
  };
  struct options {
    std::size_t max_entries = 200000;
    std::chrono::milliseconds interval{20};
  };
  access_queue(engine& eng, std::shared_ptr<spdlog::logger> log, options o);
  access_queue(engine& eng, std::shared_ptr<spdlog::logger> log)
      : access_queue(eng, std::move(log), options{}) {}
  ~access_queue();
  access_queue(const access_queue&) = delete;
  access_queue& operator=(const access_queue&) = delete;

  void set_beat(liveness::beat* b) { beat_ = b; }
  void set_failure_handler(std::function<void(const std::string&)> f) {
    on_failure_ = std::move(f);
  }
  void start();
  status state() const;
  /// Queues `entries` (each timed now unless it has a time); nullopt once they are queued, or why
  /// the read must be refused.
  std::optional<error> record(std::vector<store::access_entry> entries);
  /// Waits until every entry queued before the call is written (or a batch of them is refused,
  /// or `limit` passes): an access-log query then sees the reads made just before it. Returns
  /// whether they were written.
  bool sync(std::chrono::milliseconds limit = std::chrono::seconds(5));
  /// Writes what is queued (one last try when the store is failing), then joins.
  void stop();

 private:
  void run();
  /// Hands `batch` to the engine and waits for its answer: empty when it committed.
  std::string write(std::vector<store::access_entry>& batch);

  engine& eng_;
  std::shared_ptr<spdlog::logger> log_;
  const options opts_;
  liveness::beat* beat_ = nullptr;
  std::function<void(const std::string&)> on_failure_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<store::access_entry> pending_;
  std::string failing_;  // why the last batch was refused; empty while batches commit
  std::chrono::steady_clock::time_point failing_since_{};
  std::condition_variable written_cv_;
  std::uint64_t queued_ = 0;   // entries ever queued
  std::uint64_t written_ = 0;  // entries ever written (in queue order)
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bl
