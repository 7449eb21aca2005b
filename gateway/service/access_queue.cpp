#include "gateway/service/access_queue.hpp"

#include <future>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/engine.hpp"

namespace bl {

access_queue::access_queue(engine& eng, std::shared_ptr<spdlog::logger> log, options o)
    : eng_(eng), log_(std::move(log)), opts_(o) {}

access_queue::~access_queue() {
  stop();
}

void access_queue::start() {
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& e) {
      // Loud, and every read is refused from now on: none is answered that the log cannot hold.
      log_->critical("event=access_log_thread_failed error={}", log_quote(e.what()));
      {
        std::lock_guard lock(mu_);
        if (failing_.empty()) failing_since_ = std::chrono::steady_clock::now();
        failing_ = std::string("the access log's writer stopped: ") + e.what();
        written_cv_.notify_all();
      }
      if (on_failure_) on_failure_(std::string("the access log's writer stopped: ") + e.what());
    }
  });
}

access_queue::status access_queue::state() const {
  std::lock_guard lock(mu_);
  status s;
  s.failing = !failing_.empty();
  s.error = failing_;
  if (s.failing)
    s.failing_for_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - failing_since_).count();
  s.pending = pending_.size();
  return s;
}

std::optional<error> access_queue::record(std::vector<store::access_entry> entries) {
  const time_point now = now_ms();
  std::lock_guard lock(mu_);
  if (!failing_.empty())
    return make_error(errc::store_unavailable, "the access log cannot be written (" + failing_ +
                                                   "); nothing is shown until it can");
  if (stopping_) return make_error(errc::shutting_down, "the gateway is shutting down");
  if (pending_.size() + entries.size() > opts_.max_entries)
    return make_error(errc::store_busy, "the access log is " + std::to_string(pending_.size()) +
                                            " entries behind; try again in a moment");
  for (auto& e : entries) {
    if (e.at == time_point{}) e.at = now;
    pending_.push_back(std::move(e));
  }
  queued_ += entries.size();
  return std::nullopt;
}

std::string access_queue::write(std::vector<store::access_entry>& batch) {
  // Shared with the callback: an engine that never answers (its thread gone) must not leave the
  // callback a dangling promise once this gives up waiting.
  auto answered = std::make_shared<std::promise<std::string>>();
  auto outcome = answered->get_future();
  eng_.log_access(batch, [answered](std::variant<std::int64_t, error> r) {
    auto* e = std::get_if<error>(&r);
    answered->set_value(e ? std::string(e->id()) + ": " + e->message : std::string());
  });
  // Beating while it waits: the engine's own stall shows as the engine's.
  for (int waited_ms = 0;
       outcome.wait_for(std::chrono::milliseconds(250)) != std::future_status::ready;
       waited_ms += 250) {
    if (beat_) (*beat_)();
    if (waited_ms >= 30000) return "the engine did not answer within 30 s";
  }
  return outcome.get();
}

void access_queue::run() {
  for (;;) {
    if (beat_) (*beat_)();
    if (failpoint("access_log.thread_exception"))
      throw std::runtime_error("injected fault (failpoint access_log.thread_exception)");
    std::vector<store::access_entry> batch;
    bool last = false;
    {
      std::unique_lock lock(mu_);
      // A backlog goes in transactions of at most store::max_access_batch entries, one after the
      // other.
      if (pending_.size() <= store::max_access_batch)
        cv_.wait_for(lock, opts_.interval, [&] { return stopping_; });
      if (pending_.size() <= store::max_access_batch) {
        batch.swap(pending_);
      } else {
        batch.assign(std::make_move_iterator(pending_.begin()),
                     std::make_move_iterator(pending_.begin() + store::max_access_batch));
        pending_.erase(pending_.begin(), pending_.begin() + store::max_access_batch);
      }
      last = stopping_;
    }
    if (batch.empty()) {
      if (last) return;
      continue;
    }
    std::string why = write(batch);
    std::lock_guard lock(mu_);
    if (why.empty()) {
      written_ += batch.size();
      written_cv_.notify_all();
      if (!failing_.empty()) log_->warn("event=access_log_recovered entries={}", batch.size());
      failing_.clear();
    } else if (last) {
      log_->error("event=access_log_lost entries={} error={}", batch.size(), log_quote(why));
      return;
    } else {
      if (failing_.empty()) {
        log_->error("event=access_log_failed entries={} error={}", batch.size(), log_quote(why));
        failing_since_ = std::chrono::steady_clock::now();
      }
      failing_ = why;
      written_cv_.notify_all();
      // Kept, oldest first, and tried again at the next interval.
      batch.insert(batch.end(), std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.end()));
      pending_.swap(batch);
    }
    if (last && pending_.empty()) return;
  }
}

bool access_queue::sync(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu_);
  const std::uint64_t target = queued_;
  cv_.notify_all();
  written_cv_.wait_for(lock, limit, [&] { return written_ >= target || !failing_.empty(); });
  return written_ >= target;
}

void access_queue::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace bl
