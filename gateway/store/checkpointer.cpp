#include "gateway/store/checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "gateway/core/failpoint.hpp"
#include "gateway/core/log_value.hpp"
#include "gateway/store/sqlite.hpp"

namespace bl::store {

checkpointer::checkpointer(const store_options& opts, std::shared_ptr<spdlog::logger> log)
    : db_(std::make_unique<db>(opts.path, false, false, opts.vfs)), log_(std::move(log)) {
  db_->exec("PRAGMA busy_timeout = " + std::to_string(opts.busy_timeout_ms));
  // The same durability as the writer's: with FULL, a checkpoint syncs the WAL before copying
  // and the database file after, so no copied page is ever the only copy.
  db_->exec(opts.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

checkpointer::~checkpointer() {
  stop();
}

void checkpointer::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void checkpointer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void checkpointer::note_wal(int pages) noexcept {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    st_.wal_pages = pages;
    dirty_ = true;
    // While failing, the loop's one-second retry is enough: a failing disk is not hammered.
    if (pages >= soft_pages && !wake_ && !st_.failing) wake = wake_ = true;
  }
  if (wake) cv_.notify_one();
}

bool checkpointer::checkpoint_inline(sqlite3* h, const char* schema, int& rc) noexcept {
  std::unique_lock run(run_mu_, std::try_to_lock);
  if (!run.owns_lock()) return false;
  rc = sqlite3_wal_checkpoint_v2(h, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return true;
}

checkpoint_status checkpointer::status() const {
  std::lock_guard lock(mu_);
  auto s = st_;
  if (s.failing)
    s.failing_for_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - failing_since_).count();
  return s;
}

void checkpointer::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || wake_; });
      if (stopping_) return;
      // Woken past soft_pages, or a second has passed with pages left to copy; while failing,
      // once a second whatever happens, so that a repaired disk shows at once.
      bool due = st_.failing
                     ? std::chrono::steady_clock::now() - last_attempt_ >= std::chrono::seconds(1)
                     : wake_ || dirty_;
      wake_ = false;
      dirty_ = false;
      if (!due) {
        lock.unlock();
        if (beat_) (*beat_)();
        continue;
      }
    }
    if (beat_) (*beat_)();
    checkpoint_once();
    if (beat_) (*beat_)();
  }
}

void checkpointer::checkpoint_once() {
  auto started = std::chrono::steady_clock::now();
  std::string failure;
  int wal = 0, copied = 0;
  try {
    if (failpoint("store.checkpoint_error"))
      throw store_error(SQLITE_IOERR, "injected fault (failpoint store.checkpoint_error)");
    std::lock_guard run(run_mu_);
    int rc =
        sqlite3_wal_checkpoint_v2(db_->handle(), "main", SQLITE_CHECKPOINT_PASSIVE, &wal, &copied);
    // SQLITE_BUSY: another connection is checkpointing right now (a backup tool). Nothing is
    // wrong; the next turn copies what is left.
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) db_->fail(rc, "checkpoint");
  } catch (const std::exception& e) {
    failure = e.what();
  }
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  last_attempt_ = now;
  st_.last_run_s = std::chrono::duration<double>(now - started).count();
  if (failure.empty()) {
    if (st_.failing)
      log_->warn("event=checkpoint_resumed failed_for_s={:.1f} failures={}",
                 std::chrono::duration<double>(now - failing_since_).count(), st_.failures);
    ++st_.runs;
    if (copied > 0) st_.pages_copied += static_cast<std::uint64_t>(copied);
    st_.failing = false;
    st_.error.clear();
    return;
  }
  ++st_.failures;
  st_.error = failure;
  if (!st_.failing) {
    st_.failing = true;
    failing_since_ = now;
    last_error_log_ = now;
    log_->warn("event=checkpoint_failed wal_pages={} error={}", st_.wal_pages, log_quote(failure));
  } else if (now - last_error_log_ >= std::chrono::minutes(1)) {
    // Still failing: the writer's inline checkpoints at restart_pages keep the WAL bounded.
    last_error_log_ = now;
    log_->error("event=checkpoint_failing failing_for_s={:.0f} failures={} wal_pages={} error={}",
                std::chrono::duration<double>(now - failing_since_).count(), st_.failures,
                st_.wal_pages, log_quote(failure));
  }
}

}  // namespace bl::store
