#pragma once
// Thin RAII wrappers over the SQLite C API. SQL failures are raised as store_error of the kind
// their extended result code means (sqlite_error); the engine turns them into bl.store.* replies at
// its boundary.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <unordered_map>
#include "gateway/store/store_error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace bl::store {

/// A store_error for SQLite's extended result code `rc`, of the kind the code means
/// (SQLITE_FULL: full; BUSY, LOCKED: busy; CONSTRAINT: conflict; CORRUPT, NOTADB, MISMATCH:
/// corrupt; anything else: unavailable), keeping `rc` for logs.
store_error sqlite_error(int rc, const std::string& what);

/// One connection. Not thread-safe: each thread that touches SQLite owns its own db.
class db {
 public:
  /// Opens (creating when `create`) the file, through `vfs` when non-empty.
  db(const std::string& path, bool create, bool read_only, const std::string& vfs = {});
  ~db();
  db(const db&) = delete;
  db& operator=(const db&) = delete;

  void exec(std::string_view sql);
  sqlite3* handle() const { return h_; }
  std::int64_t changes() const;
  [[noreturn]] void fail(int rc, std::string_view what) const;
  /// The connection's prepared statement for `sql`, compiled on first use and kept until the
  /// connection closes (see stmt's borrowing constructor).
  sqlite3_stmt* cached(std::string_view sql);

 private:
  sqlite3* h_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

struct borrow_t {};
/// Tag for stmt's borrowing constructor.
inline constexpr borrow_t borrow{};

/// A prepared statement, reset automatically before each new binding round.
class stmt {
 public:
  stmt(db& d, std::string_view sql);
  /// Borrows the connection's cached statement for `sql` instead of compiling it again; the
  /// destructor resets it (ending its read snapshot) rather than finalizing it. Only one borrow of
  /// the same SQL on one connection may be alive at a time.
  stmt(db& d, std::string_view sql, borrow_t);
  ~stmt();
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;

  stmt& reset();
  stmt& bind(int i, std::int64_t v);
  stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  stmt& bind(int i, double v);
  stmt& bind(int i, std::string_view v);
  stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  stmt& bind_null(int i);
  template <class T>
  stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  /// Steps once: true when a row is available, false when done.
  bool step();
  /// Steps to completion (for statements that return no rows).
  void run();

  std::int64_t int64(int col) const;
  double real(int col) const;
  std::string text(int col) const;
  /// Columns in the statement's result.
  int columns() const;
  bool is_null(int col) const;

 private:
  db& db_;
  sqlite3_stmt* s_ = nullptr;
  bool owned_ = true;
};

}  // namespace bl::store
