#pragma once
// The store a test runs on, whichever engine the run is for: BLUELINK_TEST_ENGINE=postgres puts
// each test's store in a database of its own on one PostgreSQL server that the test process
// starts on first use (tools/pg_server/pg_server: initdb and pg_ctl in a temp directory, a Unix
// socket only) and stops when it exits; otherwise it is an SQLite file. ctest runs the shards
// that must hold on both engines a second time with the variable set, as "<shard>@postgres"
// (tests/CMakeLists.txt). Test cases about SQLite itself (its file, its VFS) carry the tag
// [sqlite] and are left out of those runs.
//
// Threading: a test_store is made and destroyed on one thread; query_* may be called from any.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/store/writer.hpp"

namespace bl::test {

class pg_server;
}  // namespace bl::test

namespace bl::store::postgres {
class connection;
}  // namespace bl::store::postgres

namespace bl::test {

/// Whether this test process runs its stores on PostgreSQL (BLUELINK_TEST_ENGINE=postgres).
bool on_postgres();
/// The process's PostgreSQL server, started on first use.
pg_server& shared_pg_server();

class test_store {
 public:
  /// On SQLite, the store is the file `sqlite_path` (not created here); on PostgreSQL, a new
  /// empty database on the shared server, dropped by the destructor.
  explicit test_store(std::string sqlite_path);
  ~test_store();
  test_store(const test_store&) = delete;
  test_store& operator=(const test_store&) = delete;

  /// Options that open this store (busy timeout 0: the engines' defaults).
  bl::store::store_options options() const;
  /// Every row `sql` returns, each column as text (NULL as ""): $1, $2, ... are `args`, in SQL
  /// both engines accept. SQLite: a read-only connection of its own for each call. PostgreSQL:
  /// one connection kept for the store's queries (a backend started per poll would cost the
  /// server a process each time, and tests poll every few milliseconds), made again after a
  /// failure.
  std::vector<std::vector<std::string>> query_rows(const std::string& sql,
                                                   const std::vector<std::string>& args = {}) const;
  /// The first column of the first row as an integer (NULL: 0). Throws std::runtime_error when
  /// there is no row.
  std::int64_t query_int(const std::string& sql, const std::vector<std::string>& args = {}) const;
  /// Runs `sql` (no result wanted) read-write, e.g. to damage a row on purpose.
  void exec(const std::string& sql) const;
  bool postgres() const { return !pg_database_.empty(); }
  const std::string& sqlite_path() const { return sqlite_path_; }

 private:
  std::string sqlite_path_;
  std::string pg_database_;
  mutable std::mutex pg_mu_;
  mutable std::unique_ptr<bl::store::postgres::connection> pg_;  // guarded by pg_mu_
};

}  // namespace bl::test
