#include "tests/support/store_engine.hpp"

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "gateway/store/open_store.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "tests/support/test_store.hpp"
#include "tools/pg_server/pg_server.hpp"

namespace bl::test {

namespace {

// The test process's one server (tests/support/test_store.hpp), started by the first PostgreSQL
// test and stopped at exit.
pg_server& shared_server() {
  return shared_pg_server();
}

std::string admin_conninfo() {
  return shared_server().conninfo("postgres");
}

std::vector<store_engine::row> sqlite_rows(const std::string& path, const std::string& sql,
                                           const std::vector<store_engine::value>& args,
                                           bool read_only) {
  store::db d(path, false, read_only);
  d.exec("PRAGMA busy_timeout = 5000");
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(d.handle(), sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    throw std::runtime_error("test SQL does not prepare: " + sql + ": " +
                             sqlite3_errmsg(d.handle()));
  for (std::size_t i = 0; i < args.size(); ++i) {
    const int at = static_cast<int>(i + 1);
    if (args[i])
      sqlite3_bind_text(s, at, args[i]->data(), static_cast<int>(args[i]->size()),
                        SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(s, at);
  }
  std::vector<store_engine::row> out;
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    store_engine::row r;
    for (int c = 0; c < sqlite3_column_count(s); ++c) {
      if (sqlite3_column_type(s, c) == SQLITE_NULL) {
        r.emplace_back();
      } else {
        const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
        r.emplace_back(std::string(t, static_cast<std::size_t>(sqlite3_column_bytes(s, c))));
      }
    }
    out.push_back(std::move(r));
  }
  std::string err = sqlite3_errmsg(d.handle());
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) throw std::runtime_error("test SQL failed: " + sql + ": " + err);
  return out;
}

}  // namespace

std::vector<std::string> store_engine::all() {
  return {"sqlite", "postgres"};
}

store_engine::store_engine(const std::string& engine) : name_(engine) {
  if (engine == "sqlite") {
    dir_ = std::make_unique<temp_dir>();
    path_ = dir_->file("bluelink.db");
  } else if (engine == "postgres") {
    static int next = 0;
    database_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(++next);
    store::postgres::connection admin(admin_conninfo());
    admin.exec("CREATE DATABASE " + database_);
  } else {
    throw std::invalid_argument("no store engine '" + engine + "'");
  }
}

store_engine::~store_engine() {
  if (database_.empty()) return;
  try {
    // FORCE: a store a test left open must not keep its database (and the disk) alive.
    store::postgres::connection admin(admin_conninfo());
    admin.exec("DROP DATABASE IF EXISTS " + database_ + " WITH (FORCE)");
  } catch (...) {
    // The server is gone; its directory goes at exit.
  }
}

store::store_options store_engine::options() const {
  if (!postgres()) return store::store_options{path_, true, 5000, {}};
  store::store_options o;
  o.engine = store::engine_kind::postgres;
  o.conninfo = shared_server().conninfo(database_);
  return o;
}

void store_engine::create() const {
  auto w = store::open_writer(options());
}

bool store_engine::exists() const {
  if (!postgres()) return std::filesystem::exists(path_);
  return scalar("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'") > 0;
}

std::vector<store_engine::row> store_engine::query(const std::string& sql,
                                                   const std::vector<value>& args) const {
  if (!postgres()) return sqlite_rows(path_, sql, args, false);
  store::postgres::connection c(options().conninfo);
  auto r = c.query(sql, args);
  std::vector<row> out;
  for (int i = 0; i < r.rows(); ++i) {
    row one;
    for (int col = 0; col < r.columns(); ++col) {
      if (r.is_null(i, col)) {
        one.emplace_back();
        continue;
      }
      std::string t = r.text(i, col);
      // Booleans as SQLite stores them, so that one expectation serves both engines.
      if (r.is_boolean(col)) t = t == "t" ? "1" : "0";
      one.emplace_back(std::move(t));
    }
    out.push_back(std::move(one));
  }
  return out;
}

std::int64_t store_engine::scalar(const std::string& sql, const std::vector<value>& args) const {
  auto rows = query(sql, args);
  if (rows.empty() || rows[0].empty() || !rows[0][0])
    throw std::runtime_error("test SQL returned no value: " + sql);
  return std::stoll(*rows[0][0]);
}

void store_engine::exec(const std::string& sql, const std::vector<value>& args) const {
  if (!postgres()) {
    if (args.empty()) {
      store::db d(path_, false, false);
      d.exec("PRAGMA busy_timeout = 5000");
      d.exec(sql);
      return;
    }
    sqlite_rows(path_, sql, args, false);
    return;
  }
  store::postgres::connection c(options().conninfo);
  if (args.empty())
    c.exec(sql);
  else
    c.query(sql, args);
}

}  // namespace bl::test
