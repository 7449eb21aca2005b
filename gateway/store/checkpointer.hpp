#pragma once
// The WAL checkpointer: copies committed pages from the write-ahead log back into the database
// file on a thread and connection of its own, so that the engine's commits never wait for a
// checkpoint's writes and its two fsyncs. SQLite's default runs the checkpoint inside the commit
// that pushed the WAL past 1000 pages; on a busy gateway that was every few commits, and taking it
// off the engine thread raised receipts by a quarter (docs/benchmarks.md).
//
// The writer tells it after each commit how large the WAL is (note_wal). Past soft_pages it runs a
// PASSIVE checkpoint (it never waits for readers or the writer, so it can never stall a commit),
// and at least once a second while anything is left to copy. A passive checkpoint running beside
// a busy writer copies most of the WAL but never all of it, and SQLite starts the WAL again from
// its beginning only after a checkpoint that copied everything; so once the WAL passes
// restart_pages the writer checkpoints inline, right after a commit (checkpoint_inline), copying
// only what the checkpointer has not, and the next transaction restarts the WAL. That also keeps
// the WAL bounded when the checkpointer is failing. Failures are logged (warn once per run, error
// each minute while they last), retried once a second, counted and shown in status() for
// /healthz and /metrics.
//
// Thread-safety: note_wal(), wake() and status() may be called from any thread; start() and
// stop() from the owner. Lifetime: stop() (also from the destructor) joins the thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/core/liveness.hpp"
#include "gateway/store/writer.hpp"

namespace spdlog {
class logger;
}

namespace bl::store {

class db;

struct checkpoint_status {
  std::uint64_t runs = 0;          // checkpoints completed
  std::uint64_t failures = 0;      // checkpoints that failed
  std::uint64_t pages_copied = 0;  // WAL pages copied into the database file, in total
  int wal_pages = 0;               // the WAL's size in pages after the last commit
  bool failing = false;            // the last checkpoint failed
  std::string error;               // why, while failing
  double failing_for_s = 0;        // since the first failure of the current run
  double last_run_s = 0;           // how long the last checkpoint took
};

class checkpointer {
 public:
  static constexpr int soft_pages = 1000;     // SQLite's own default autocheckpoint threshold
  static constexpr int restart_pages = 4000;  // 16 MiB at 4 KiB pages: the writer finishes inline

  /// Opens its own connection to the store (throws store_error if it cannot).
  checkpointer(const store_options& opts, std::shared_ptr<spdlog::logger> log);
  ~checkpointer();
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  /// Beaten on every turn of the thread's loop (at least once a second). Set before start().
  void set_beat(liveness::beat* b) { beat_ = b; }
  void start();
  void stop();
  /// The WAL holds `pages` pages after a commit. Cheap: wakes the thread only past soft_pages.
  void note_wal(int pages) noexcept;
  /// Called by the writer, right after a commit, on its own connection `h`: a PASSIVE checkpoint
  /// of what is left, unless the checkpointer is in the middle of one (then false: the next
  /// commit tries again). Never throws; the result code is SQLite's.
  bool checkpoint_inline(sqlite3* h, const char* schema, int& rc) noexcept;
  checkpoint_status status() const;

 private:
  void run();
  void checkpoint_once();

  std::unique_ptr<db> db_;
  std::shared_ptr<spdlog::logger> log_;
  liveness::beat* beat_ = nullptr;
  std::mutex run_mu_;  // held while a checkpoint runs, by this thread or inline by the writer
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  bool dirty_ = false;  // a commit added pages since the last checkpoint
  checkpoint_status st_;
  std::chrono::steady_clock::time_point failing_since_{}, last_error_log_{}, last_attempt_{};
  std::thread thread_;
};

}  // namespace bl::store
