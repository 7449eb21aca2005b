#include "gateway/store/sqlite/fault_vfs.hpp"

#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

namespace fs = std::filesystem;
using bl::store::fault_vfs;
using op = fault_vfs::op;

/// A fresh directory per test, removed afterwards (with the db, -wal and -shm files).
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "fault_vfs_test.XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

struct db_closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

/// `vfs` null means the default VFS, i.e. what a later process would see.
db_ptr open_db(const fs::path& file, const char* vfs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
  db_ptr db(raw);
  if (rc != SQLITE_OK) throw std::runtime_error("open failed: " + std::string(sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);  // so an fsync failure is told apart from other I/O errors
  return db;
}

int exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
}

long long row_count(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &stmt, nullptr) == SQLITE_OK);
  int rc = sqlite3_step(stmt);
  long long n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
  sqlite3_finalize(stmt);
  REQUIRE(rc == SQLITE_ROW);
  return n;
}

/// The store's configuration: WAL, fully synchronous, opened through the fault VFS.
db_ptr open_store(const fs::path& file, const fault_vfs& vfs) {
  db_ptr db = open_db(file, vfs.name().c_str());
  REQUIRE(exec(db.get(),
               "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
               "CREATE TABLE IF NOT EXISTS t(x INTEGER)") == SQLITE_OK);
  return db;
}

}  // namespace

TEST_CASE(
    "an armed write failure makes the commit fail with SQLITE_FULL and the row is absent after "
    "reopening",
    "[store][fault]") {
  temp_dir dir;
  const fs::path file = dir.path / "store.db";
  fault_vfs vfs("fault_vfs_write");
  {
    db_ptr db = open_store(file, vfs);
    vfs.arm(op::write, 0, SQLITE_FULL);
    CHECK(exec(db.get(), "INSERT INTO t VALUES (1)") == SQLITE_FULL);
    CHECK(vfs.injected() >= 1);
    vfs.clear();
  }
  db_ptr db = open_db(file, nullptr);
  CHECK(row_count(db.get()) == 0);
}

TEST_CASE("an armed fsync failure makes the commit fail with an I/O error", "[store][fault]") {
  temp_dir dir;
  fault_vfs vfs("fault_vfs_sync");
  db_ptr db = open_store(dir.path / "store.db", vfs);
  vfs.arm(op::sync, 0, SQLITE_IOERR_FSYNC);
  const int rc = exec(db.get(), "INSERT INTO t VALUES (1)");
  CHECK((rc & 0xff) == SQLITE_IOERR);
  CHECK(rc == SQLITE_IOERR_FSYNC);
  CHECK(vfs.injected() >= 1);
  vfs.clear();
}

TEST_CASE("an armed lock failure reports SQLITE_BUSY and the write succeeds once cleared",
          "[store][fault]") {
  temp_dir dir;
  fault_vfs vfs("fault_vfs_lock");
  db_ptr db = open_store(dir.path / "store.db", vfs);
  REQUIRE(exec(db.get(), "INSERT INTO t VALUES (1)") == SQLITE_OK);

  vfs.arm(op::lock, 0, SQLITE_BUSY);
  CHECK(exec(db.get(), "INSERT INTO t VALUES (2)") == SQLITE_BUSY);
  CHECK(row_count(db.get()) == 1);  // readers are unaffected
  CHECK(vfs.injected() >= 1);

  vfs.clear();
  CHECK(exec(db.get(), "INSERT INTO t VALUES (2)") == SQLITE_OK);
  CHECK(row_count(db.get()) == 2);
}

TEST_CASE("counters count operations", "[store][fault]") {
  temp_dir dir;
  const fs::path file = dir.path / "store.db";
  fault_vfs vfs("fault_vfs_count");
  CHECK(sqlite3_vfs_find(vfs.name().c_str()) != nullptr);
  CHECK(sqlite3_vfs_find(nullptr) != sqlite3_vfs_find(vfs.name().c_str()));  // never the default
  {
    db_ptr db = open_store(file, vfs);
    const long writes = vfs.count(op::write), syncs = vfs.count(op::sync),
               locks = vfs.count(op::lock);
    REQUIRE(exec(db.get(), "INSERT INTO t VALUES (1)") == SQLITE_OK);
    CHECK(vfs.count(op::write) > writes);
    CHECK(vfs.count(op::sync) > syncs);
    CHECK(vfs.count(op::lock) > locks);

    SECTION("a rule with `after` lets that many calls through first") {
      vfs.arm(op::sync, 1000, SQLITE_IOERR_FSYNC);
      CHECK(exec(db.get(), "INSERT INTO t VALUES (2)") == SQLITE_OK);
      CHECK(vfs.injected() == 0);
    }
    SECTION("a rule with `times` disarms itself") {
      vfs.arm(op::write, 0, SQLITE_FULL, 1);
      CHECK(exec(db.get(), "INSERT INTO t VALUES (2)") == SQLITE_FULL);
      CHECK(vfs.injected() == 1);
      CHECK(exec(db.get(), "INSERT INTO t VALUES (2)") == SQLITE_OK);
      CHECK(vfs.injected() == 1);
    }
  }
  const long reads = vfs.count(op::read);
  db_ptr db = open_db(file, vfs.name().c_str());
  CHECK(row_count(db.get()) >= 1);
  CHECK(vfs.count(op::read) > reads);
  CHECK(vfs.injected() <= 1);
}

TEST_CASE("the fault vfs is unregistered when destroyed", "[store][fault]") {
  {
    fault_vfs vfs("fault_vfs_scoped");
    CHECK(sqlite3_vfs_find("fault_vfs_scoped") != nullptr);
  }
  CHECK(sqlite3_vfs_find("fault_vfs_scoped") == nullptr);
  fault_vfs vfs("fault_vfs_dup");
  CHECK_THROWS_AS(fault_vfs("fault_vfs_dup"), std::invalid_argument);
}
