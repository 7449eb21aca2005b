#include "gateway/service/purge_scheduler.hpp"

#include <future>
#include <stdexcept>
#include <utility>

#include <spdlog/spdlog.h>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/store/account_store.hpp"

namespace bl {

purge_scheduler::purge_scheduler(const gateway_config& cfg, engine& eng, store::reader& reader,
                                 const clock_source& clock, std::shared_ptr<spdlog::logger> log)
    : cfg_(cfg), eng_(eng), reader_(reader), clock_(clock), log_(std::move(log)) {}

purge_scheduler::~purge_scheduler() {
  stop();
}

void purge_scheduler::set_accounts(std::unique_ptr<store::account_store> a) {
  accounts_ = std::move(a);
}

void purge_scheduler::start(std::chrono::milliseconds first_after) {
  thread_ = std::thread([this, first_after] {
    try {
      run(first_after);
    } catch (const std::exception& e) {
      // Outside a pass (those are caught, logged and retried): the thread itself is gone, so the
      // gateway fails as for any long-lived thread rather than purging nothing in silence.
      log_->critical("event=purge_thread_failed error={}", log_quote(e.what()));
      {
        std::lock_guard lock(mu_);
        status_.last_error = std::string("the purge thread stopped: ") + e.what();
      }
      if (on_failure_) on_failure_(std::string("the purge thread stopped: ") + e.what());
    }
  });
}

void purge_scheduler::stop() {
  stopping_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

purge_scheduler::status purge_scheduler::state() const {
  std::lock_guard lock(mu_);
  return status_;
}

purge_pass_report purge_scheduler::run_once() {
  const time_point now = clock_.now();
  const auto started = std::chrono::steady_clock::now();
  auto last_progress = started;
  purge_pass_options o;
  o.batch = cfg_.retention.batch;
  o.stop = &stopping_;
  // Each batch is one engine task; this thread waits for its commit (beating meanwhile).
  auto in_engine = [this](auto fn) {
    auto done = std::make_shared<std::promise<std::optional<error>>>();
    auto answered = done->get_future();
    eng_.run_task(fn, [done](std::optional<error> e) { done->set_value(std::move(e)); });
    while (answered.wait_for(std::chrono::milliseconds(250)) != std::future_status::ready)
      if (beat_) (*beat_)();
    if (auto e = answered.get()) throw std::runtime_error(std::string(e->id()) + ": " + e->message);
  };
  const purge_actor who;
  o.apply_transfers = [&](const std::vector<std::string>& ids) {
    purge_batch_result res;
    in_engine(
        [&](store::writer& w, time_point at) { res = purge_transfers(w, cfg_, ids, at, who); });
    return res;
  };
  o.apply_calls = [&](const std::vector<store::call_candidate>& calls) {
    purge_batch_result res;
    in_engine([&](store::writer& w, time_point at) { res = purge_calls(w, cfg_, calls, at, who); });
    return res;
  };
  o.progress = [&](const purge_pass_report& r) {
    if (beat_) (*beat_)();
    auto t = std::chrono::steady_clock::now();
    if (t - last_progress < std::chrono::seconds(10)) return;
    last_progress = t;
    log_->info(
        "event=purge_progress transfers_due={} transfers_purged={} transfers_held={} calls_due={} "
        "calls_purged={} elapsed_s={}",
        r.transfers_due, r.transfers_purged, r.transfers_held, r.calls_due, r.calls_purged,
        std::chrono::duration_cast<std::chrono::seconds>(t - started).count());
  };
  auto rep = run_purge_pass(cfg_, reader_, now, o);
  if (accounts_ && !rep.stopped)
    rep.sessions_purged = purge_console_sessions(cfg_, *accounts_, now);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log_->info(
      "event=purge_done transfers_due={} transfers_purged={} transfers_held={} calls_due={} "
      "calls_purged={} sessions_purged={} batches={} longest_batch_ms={:.1f} duration_s={:.1f} "
      "stopped={}",
      rep.transfers_due, rep.transfers_purged, rep.transfers_held, rep.calls_due, rep.calls_purged,
      rep.sessions_purged, rep.batches, rep.longest_batch_ms, took, rep.stopped);
  std::lock_guard lock(mu_);
  ++status_.passes;
  status_.transfers_purged += rep.transfers_purged;
  status_.calls_purged += rep.calls_purged;
  status_.sessions_purged += rep.sessions_purged;
  status_.last_pass_at_ms = to_ms(clock_.now());
  status_.longest_batch_ms = rep.longest_batch_ms;
  status_.last_error.clear();
  return rep;
}

void purge_scheduler::run(std::chrono::milliseconds first_after) {
  auto next = std::chrono::steady_clock::now() + first_after;
  while (!stopping_) {
    {
      std::unique_lock lock(mu_);
      // Waking every second to beat while it waits for the next pass.
      cv_.wait_until(lock,
                     std::min(next, std::chrono::steady_clock::now() + std::chrono::seconds(1)),
                     [&] { return stopping_.load(); });
    }
    if (beat_) (*beat_)();
    if (stopping_) return;
    if (failpoint("retention.thread_exception"))
      throw std::runtime_error("injected fault (failpoint retention.thread_exception)");
    if (std::chrono::steady_clock::now() < next) continue;
    try {
      run_once();
    } catch (const std::exception& e) {
      // Tried again at the next interval; nothing half-done stays (each batch is a transaction).
      log_->error("event=purge_failed error={}", log_quote(e.what()));
      std::lock_guard lock(mu_);
      ++status_.failures;
      status_.last_error = e.what();
    }
    next = std::chrono::steady_clock::now() + std::chrono::seconds(cfg_.retention.purge_every_s);
  }
}

}  // namespace bl
