#pragma once

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

namespace bl::store {

/// A SQLite VFS that delegates every call to the default VFS and can be armed to fail
/// specific operations, so tests can prove the store acknowledges nothing it has not stored.
///
/// Ownership/lifetime: registered under its own name (never as the default) in the
/// constructor and unregistered in the destructor, so it must outlive every connection
/// opened with `name()` as zVfs. Not copyable or movable: SQLite holds a pointer to it.
///
/// Threading: SQLite may call in from any connection's thread; counters are atomics and
/// the arming rules are behind a mutex, so arm()/clear()/count() may be called from any
/// thread, including while connections are mid-transaction.
///
/// What each op covers (counts are over all files: main db, journal, WAL, temp):
///  - write: xWrite; sync: xSync; read: xRead (while read is armed, xFetch declines to
///    memory-map so every page read goes through xRead and can fail).
///  - lock: xLock calls and xShmLock acquisitions. Injection only hits requests that
///    take write ownership: xLock above SHARED (rollback-journal writers, WAL close) and
///    an exclusive xShmLock on slot 0, the WAL write lock (WAL writers never call xLock
///    above SHARED). Readers keep working, except one that must run WAL recovery, which
///    also needs the write lock.
class fault_vfs {
 public:
  enum class op { write, sync, lock, read };

  /// Throws std::invalid_argument if `name` is already registered, std::runtime_error if
  /// SQLite has no default VFS or registration fails.
  explicit fault_vfs(std::string name);
  ~fault_vfs();
  fault_vfs(const fault_vfs&) = delete;
  fault_vfs& operator=(const fault_vfs&) = delete;

  /// Pass to sqlite3_open_v2 as zVfs.
  const std::string& name() const { return name_; }

  /// After `after` more eligible calls of `o` pass through, the next `times` calls
  /// (-1 = until cleared) return `sqlite_error` without touching the real file
  /// (e.g. SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC, SQLITE_BUSY).
  /// Re-arming an op replaces its previous rule.
  void arm(op o, int after, int sqlite_error, int times = -1);
  /// Disarms every op; counters are kept.
  void clear();
  /// While held, every xSync waits (on whatever thread called it) until released: a disk that
  /// is slow to confirm a write. Release also happens in the destructor.
  void hold_syncs(bool held);
  /// Syncs waiting on the hold now.
  long syncs_held() const { return held_waiting_.load(); }
  /// Calls of `o` seen so far (all files), injected ones included.
  long count(op o) const;
  /// Errors injected so far.
  long injected() const { return injected_.load(); }

 private:
  struct shim;  // the C callbacks; defined in the .cpp
  struct rule {
    long skip = 0;   // eligible calls still to let through
    long times = 0;  // failures left; -1 = unlimited, 0 = disarmed
    int error = SQLITE_OK;
  };
  static constexpr std::size_t op_count = 4;

  /// Counts a call of `o` and, if `eligible`, applies its rule: SQLITE_OK or the error.
  int hit(op o, bool eligible);
  bool armed(op o) const;

  std::string name_;  // before vfs_: vfs_.zName points into it
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_{};
  mutable std::mutex mu_;
  std::array<rule, op_count> rules_{};  // guarded by mu_
  std::array<std::atomic<long>, op_count> counts_{};
  std::atomic<long> injected_{0};
  bool held_ = false;  // guarded by mu_
  std::condition_variable held_cv_;
  std::atomic<long> held_waiting_{0};
  void wait_while_held();
};

}  // namespace bl::store
