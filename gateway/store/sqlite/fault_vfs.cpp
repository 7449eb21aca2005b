#include "gateway/store/sqlite/fault_vfs.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace bl::store {
namespace {

/// Our sqlite3_file. SQLite allocates vfs.szOsFile bytes and only knows about `base`;
/// the real VFS's file lives in the same allocation, right after this struct.
struct fault_file {
  sqlite3_file base;  // must be first
  fault_vfs* owner;
  sqlite3_file* real;
};

fault_file* ff(sqlite3_file* f) {
  return reinterpret_cast<fault_file*>(f);
}
sqlite3_file* real(sqlite3_file* f) {
  return ff(f)->real;
}
const sqlite3_io_methods* rm(sqlite3_file* f) {
  return real(f)->pMethods;
}

// WAL_WRITE_LOCK in wal.c: slot 0 of the WAL-index locks (a documented on-disk format
// detail). An exclusive lock on it is what makes a WAL connection a writer.
constexpr int wal_write_slot = 0;

}  // namespace

struct fault_vfs::shim {
  static sqlite3_vfs* real_vfs(sqlite3_vfs* v) {
    return static_cast<fault_vfs*>(v->pAppData)->real_;
  }
  static fault_vfs& owner(sqlite3_file* f) { return *ff(f)->owner; }

  // --- io methods: count/inject, then forward to the real file ---
  static int close(sqlite3_file* f) { return rm(f)->xClose(real(f)); }
  static int read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
    if (int rc = owner(f).hit(op::read, true)) return rc;
    return rm(f)->xRead(real(f), buf, n, off);
  }
  static int write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
    if (int rc = owner(f).hit(op::write, true)) return rc;
    return rm(f)->xWrite(real(f), buf, n, off);
  }
  static int truncate(sqlite3_file* f, sqlite3_int64 size) {
    return rm(f)->xTruncate(real(f), size);
  }
  static int sync(sqlite3_file* f, int flags) {
    owner(f).wait_while_held();
    if (int rc = owner(f).hit(op::sync, true)) return rc;
    return rm(f)->xSync(real(f), flags);
  }
  static int file_size(sqlite3_file* f, sqlite3_int64* size) {
    return rm(f)->xFileSize(real(f), size);
  }
  static int lock(sqlite3_file* f, int level) {
    // SHARED is all a reader needs; failing only above it keeps reads working.
    if (int rc = owner(f).hit(op::lock, level > SQLITE_LOCK_SHARED)) return rc;
    return rm(f)->xLock(real(f), level);
  }
  static int unlock(sqlite3_file* f, int level) { return rm(f)->xUnlock(real(f), level); }
  static int check_reserved_lock(sqlite3_file* f, int* out) {
    return rm(f)->xCheckReservedLock(real(f), out);
  }
  static int file_control(sqlite3_file* f, int opcode, void* arg) {
    return rm(f)->xFileControl(real(f), opcode, arg);
  }
  static int sector_size(sqlite3_file* f) { return rm(f)->xSectorSize(real(f)); }
  static int device_characteristics(sqlite3_file* f) {
    return rm(f)->xDeviceCharacteristics(real(f));
  }
  static int shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
    return rm(f)->xShmMap(real(f), page, size, extend, out);
  }
  static int shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    if (flags & SQLITE_SHM_LOCK) {
      // WAL writers never ask xLock for more than SHARED; they take the WAL write lock.
      const bool takes_write_lock =
          (flags & SQLITE_SHM_EXCLUSIVE) && offset <= wal_write_slot && wal_write_slot < offset + n;
      if (int rc = owner(f).hit(op::lock, takes_write_lock)) return rc;
    }
    return rm(f)->xShmLock(real(f), offset, n, flags);
  }
  static void shm_barrier(sqlite3_file* f) { rm(f)->xShmBarrier(real(f)); }
  static int shm_unmap(sqlite3_file* f, int delete_flag) {
    return rm(f)->xShmUnmap(real(f), delete_flag);
  }
  static int fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
    // Memory-mapped pages bypass xRead; declining (allowed: *out = 0, SQLITE_OK) while
    // reads are armed makes SQLite fall back to xRead, where the failure is injected.
    if (owner(f).armed(op::read)) {
      *out = nullptr;
      return SQLITE_OK;
    }
    return rm(f)->xFetch(real(f), off, n, out);
  }
  static int unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
    return rm(f)->xUnfetch(real(f), off, p);
  }

  /// One table per iVersion, so SQLite never calls a method the real file lacks.
  static const sqlite3_io_methods methods[3];

  // --- vfs methods ---
  static int open(sqlite3_vfs* v, const char* name, sqlite3_file* f, int flags, int* out_flags) {
    auto* self = static_cast<fault_vfs*>(v->pAppData);
    fault_file* file = ff(f);
    file->owner = self;
    file->real = reinterpret_cast<sqlite3_file*>(file + 1);
    int rc = self->real_->xOpen(self->real_, name, file->real, flags, out_flags);
    // SQLite calls xClose whenever pMethods is set, even after a failed xOpen, so mirror
    // the real file: wrap it iff it has methods to close.
    const sqlite3_io_methods* inner = file->real->pMethods;
    file->base.pMethods = inner ? &methods[std::clamp(inner->iVersion, 1, 3) - 1] : nullptr;
    return rc;
  }
};

const sqlite3_io_methods fault_vfs::shim::methods[3] = {
#define FAULT_VFS_METHODS(version)                                                             \
  {                                                                                            \
    version, close, read, write, truncate, sync, file_size, lock, unlock, check_reserved_lock, \
        file_control, sector_size, device_characteristics, shm_map, shm_lock, shm_barrier,     \
        shm_unmap, fetch, unfetch                                                              \
  }
    FAULT_VFS_METHODS(1), FAULT_VFS_METHODS(2), FAULT_VFS_METHODS(3)
#undef FAULT_VFS_METHODS
};

fault_vfs::fault_vfs(std::string name) : name_(std::move(name)), real_(sqlite3_vfs_find(nullptr)) {
  if (!real_) throw std::runtime_error("fault_vfs: SQLite has no default VFS");
  if (sqlite3_vfs_find(name_.c_str()))
    throw std::invalid_argument("fault_vfs: VFS name in use: " + name_);

  // Everything but xOpen forwards to the real VFS with the real VFS as `this`: its methods
  // may read their own pAppData/mxPathname, which in ours point elsewhere.
  using s = shim;
  vfs_.iVersion = std::min(real_->iVersion, 3);  // advertise only what we can forward
  vfs_.szOsFile = static_cast<int>(sizeof(fault_file)) + real_->szOsFile;
  vfs_.mxPathname = real_->mxPathname;
  vfs_.zName = name_.c_str();
  vfs_.pAppData = this;
  vfs_.xOpen = &s::open;
  vfs_.xDelete = [](sqlite3_vfs* v, const char* n, int sync_dir) {
    return s::real_vfs(v)->xDelete(s::real_vfs(v), n, sync_dir);
  };
  vfs_.xAccess = [](sqlite3_vfs* v, const char* n, int flags, int* out) {
    return s::real_vfs(v)->xAccess(s::real_vfs(v), n, flags, out);
  };
  vfs_.xFullPathname = [](sqlite3_vfs* v, const char* n, int size, char* out) {
    return s::real_vfs(v)->xFullPathname(s::real_vfs(v), n, size, out);
  };
  vfs_.xDlOpen = [](sqlite3_vfs* v, const char* n) {
    return s::real_vfs(v)->xDlOpen(s::real_vfs(v), n);
  };
  vfs_.xDlError = [](sqlite3_vfs* v, int size, char* out) {
    s::real_vfs(v)->xDlError(s::real_vfs(v), size, out);
  };
  vfs_.xDlSym = [](sqlite3_vfs* v, void* h, const char* sym) {
    return s::real_vfs(v)->xDlSym(s::real_vfs(v), h, sym);
  };
  vfs_.xDlClose = [](sqlite3_vfs* v, void* h) { s::real_vfs(v)->xDlClose(s::real_vfs(v), h); };
  vfs_.xRandomness = [](sqlite3_vfs* v, int size, char* out) {
    return s::real_vfs(v)->xRandomness(s::real_vfs(v), size, out);
  };
  vfs_.xSleep = [](sqlite3_vfs* v, int us) { return s::real_vfs(v)->xSleep(s::real_vfs(v), us); };
  vfs_.xCurrentTime = [](sqlite3_vfs* v, double* out) {
    return s::real_vfs(v)->xCurrentTime(s::real_vfs(v), out);
  };
  vfs_.xGetLastError = [](sqlite3_vfs* v, int size, char* out) {
    return s::real_vfs(v)->xGetLastError(s::real_vfs(v), size, out);
  };
  vfs_.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
    return s::real_vfs(v)->xCurrentTimeInt64(s::real_vfs(v), out);
  };
  vfs_.xSetSystemCall = [](sqlite3_vfs* v, const char* n, sqlite3_syscall_ptr p) {
    return s::real_vfs(v)->xSetSystemCall(s::real_vfs(v), n, p);
  };
  vfs_.xGetSystemCall = [](sqlite3_vfs* v, const char* n) {
    return s::real_vfs(v)->xGetSystemCall(s::real_vfs(v), n);
  };
  vfs_.xNextSystemCall = [](sqlite3_vfs* v, const char* n) {
    return s::real_vfs(v)->xNextSystemCall(s::real_vfs(v), n);
  };

  if (int rc = sqlite3_vfs_register(&vfs_, /*makeDflt=*/0); rc != SQLITE_OK)
    throw std::runtime_error("fault_vfs: sqlite3_vfs_register failed: " +
                             std::string(sqlite3_errstr(rc)));
}

fault_vfs::~fault_vfs() {
  hold_syncs(false);
  sqlite3_vfs_unregister(&vfs_);
}

void fault_vfs::hold_syncs(bool held) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    held_ = held;
  }
  held_cv_.notify_all();
}

void fault_vfs::wait_while_held() {
  std::unique_lock<std::mutex> lock(mu_);
  if (!held_) return;
  ++held_waiting_;
  held_cv_.wait(lock, [&] { return !held_; });
  --held_waiting_;
}

void fault_vfs::arm(op o, int after, int sqlite_error, int times) {
  if (after < 0 || times < -1 || sqlite_error == SQLITE_OK)
    throw std::invalid_argument("fault_vfs::arm: need after >= 0, times >= -1 and an error code");
  std::lock_guard<std::mutex> lock(mu_);
  rules_[static_cast<std::size_t>(o)] = rule{after, times, sqlite_error};
}

void fault_vfs::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  rules_.fill(rule{});
}

long fault_vfs::count(op o) const {
  return counts_[static_cast<std::size_t>(o)].load();
}

bool fault_vfs::armed(op o) const {
  std::lock_guard<std::mutex> lock(mu_);
  return rules_[static_cast<std::size_t>(o)].times != 0;
}

int fault_vfs::hit(op o, bool eligible) {
  const auto i = static_cast<std::size_t>(o);
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  if (!eligible) return SQLITE_OK;
  // One lock for check-and-decrement, so concurrent connections never over-inject.
  std::lock_guard<std::mutex> lock(mu_);
  rule& r = rules_[i];
  if (r.times == 0) return SQLITE_OK;
  if (r.skip > 0) {
    --r.skip;
    return SQLITE_OK;
  }
  if (r.times > 0) --r.times;
  injected_.fetch_add(1);
  return r.error;
}

}  // namespace bl::store
