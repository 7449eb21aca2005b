#include "gateway/store/sqlite/sqlite.hpp"

#include <sqlite3.h>

namespace bl::store {

store_error sqlite_error(int rc, const std::string& what) {
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return store_error(fault::full, what, rc);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return store_error(fault::busy, what, rc);
    case SQLITE_CONSTRAINT:
      return store_error(fault::conflict, what, rc);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_MISMATCH:
      return store_error(fault::corrupt, what, rc);
    default:
      return store_error(fault::unavailable, what, rc);
  }
}

db::db(const std::string& path, bool create, bool read_only, const std::string& vfs) {
  int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
  if (create && !read_only) flags |= SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;  // one connection per thread: SQLite's own mutex is not needed
  int rc = sqlite3_open_v2(path.c_str(), &h_, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    std::string msg = h_ ? sqlite3_errmsg(h_) : sqlite3_errstr(rc);
    sqlite3_close_v2(h_);
    h_ = nullptr;
    throw sqlite_error(rc, "cannot open database '" + path + "': " + msg);
  }
  sqlite3_extended_result_codes(h_, 1);
}

db::~db() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  sqlite3_close_v2(h_);
}

sqlite3_stmt* db::cached(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it != cache_.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v3(h_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) fail(rc, "prepare");
  cache_.emplace(std::string(sql), s);
  return s;
}

void db::fail(int rc, std::string_view what) const {
  throw sqlite_error(sqlite3_extended_errcode(h_) ? sqlite3_extended_errcode(h_) : rc,
                     std::string(what) + ": " + sqlite3_errmsg(h_));
}

void db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(h_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    throw sqlite_error(sqlite3_extended_errcode(h_), msg + " (in: " + s.substr(0, 80) + ")");
  }
}

std::int64_t db::changes() const {
  return sqlite3_changes(h_);
}

stmt::stmt(db& d, std::string_view sql) : db_(d) {
  int rc = sqlite3_prepare_v3(d.handle(), sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &s_, nullptr);
  if (rc != SQLITE_OK) d.fail(rc, "prepare");
}

stmt::stmt(db& d, std::string_view sql, borrow_t) : db_(d), s_(d.cached(sql)), owned_(false) {
  reset();
}

stmt::~stmt() {
  if (owned_) {
    sqlite3_finalize(s_);
  } else {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

stmt& stmt::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
  return *this;
}

stmt& stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
stmt& stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
stmt& stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
stmt& stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

bool stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3_reset(s_);
  db_.fail(rc, "step");
}

void stmt::run() {
  while (step()) {
  }
}

std::int64_t stmt::int64(int col) const {
  return sqlite3_column_int64(s_, col);
}
double stmt::real(int col) const {
  return sqlite3_column_double(s_, col);
}
int stmt::columns() const {
  return sqlite3_column_count(s_);
}
std::string stmt::text(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}
bool stmt::is_null(int col) const {
  return sqlite3_column_type(s_, col) == SQLITE_NULL;
}

}  // namespace bl::store
