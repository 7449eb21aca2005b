#pragma once
// The gateway's own retention purge (issue 18, docs/data-protection.md): a thread that, every
// retention.purge_every_s, walks what is past its period (run_purge_pass) and hands each batch to
// the engine as one task (one small transaction among the live traffic's), waiting for each to
// commit before the next: live traffic waits for at most one batch at a time.
//
// Nothing fails in silence: each pass logs its progress every 10 s (event=purge_progress) and its
// end (event=purge_done, with counts and the longest batch); a pass that fails logs
// event=purge_failed and is tried again at the next interval; state() is in /metrics. The thread
// beats like the gateway's others.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/core/config.hpp"
#include "gateway/core/liveness.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/retention.hpp"

namespace spdlog {
class logger;
}

namespace bl {

class engine;
namespace store {
class reader;
class account_store;
}  // namespace store

class purge_scheduler {
 public:
  struct status {
    std::int64_t passes = 0;            // passes completed
    std::int64_t failures = 0;          // passes that failed
    std::int64_t transfers_purged = 0;  // since the gateway started
    std::int64_t calls_purged = 0;
    std::int64_t sessions_purged = 0;
    std::int64_t last_pass_at_ms = 0;  // when the last pass ended (0: none yet)
    double longest_batch_ms = 0;       // the longest batch of the last pass
    std::string last_error;            // of the last pass that failed; "" once one succeeds
  };

  /// `clock`: the engine's (what is due is judged by the time the engine stamps its batches).
  purge_scheduler(const gateway_config& cfg, engine& eng, store::reader& reader,
                  const clock_source& clock, std::shared_ptr<spdlog::logger> log);
  ~purge_scheduler();
  purge_scheduler(const purge_scheduler&) = delete;
  purge_scheduler& operator=(const purge_scheduler&) = delete;

  void set_beat(liveness::beat* b) { beat_ = b; }
  /// Called (on the purge thread) if the thread itself ends on a fault outside a pass: the
  /// gateway fails as for any long-lived thread. A pass that fails is not this: it is logged,
  /// counted and tried again. Before start().
  void set_failure_handler(std::function<void(const std::string&)> f) {
    on_failure_ = std::move(f);
  }
  /// Where console sessions are purged (logs_days); null: they are not. Before start().
  void set_accounts(std::unique_ptr<store::account_store> a);
  /// Starts the thread; its first pass runs `first_after` from now.
  void start(std::chrono::milliseconds first_after = std::chrono::seconds(60));
  /// Stops a pass at its next batch and joins.
  void stop();
  status state() const;
  /// One pass now, on the caller's thread (the thread's own passes use it).
  purge_pass_report run_once();

 private:
  void run(std::chrono::milliseconds first_after);

  const gateway_config& cfg_;
  engine& eng_;
  store::reader& reader_;
  const clock_source& clock_;
  std::shared_ptr<spdlog::logger> log_;
  liveness::beat* beat_ = nullptr;
  std::function<void(const std::string&)> on_failure_;
  std::unique_ptr<store::account_store> accounts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stopping_{false};
  status status_;
  std::thread thread_;
};

}  // namespace bl
