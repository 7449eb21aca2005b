#include "tests/support/test_store.hpp"

#include <cstdlib>
#include <random>
#include <stdexcept>

#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "tools/pg_server/pg_server.hpp"

namespace bl::test {

namespace {

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += digits[rng() % 16];
  return out;
}

}  // namespace

bool on_postgres() {
  static const bool postgres = [] {
    const char* e = std::getenv("BLUELINK_TEST_ENGINE");
    return e && std::string(e) == "postgres";
  }();
  return postgres;
}

// One server for the whole test process: a cluster takes a few seconds to initdb and start, a
// database on it a few tens of milliseconds. Stopped by its destructor at exit. Not durable
// (fsync off): these tests kill gateways, never this server, and fsync of every CREATE
// DATABASE and commit would have them wait on a shared disk for seconds each. The tests that
// kill the server (pg_faults_system_test) start durable servers of their own.
pg_server& shared_pg_server() {
  static pg_server server(false);
  return server;
}

test_store::test_store(std::string sqlite_path) : sqlite_path_(std::move(sqlite_path)) {
  if (!on_postgres()) return;
  pg_database_ = "t_" + random_hex(16);
  shared_pg_server().create_database(pg_database_);
}

test_store::~test_store() {
  {
    std::lock_guard<std::mutex> lock(pg_mu_);
    pg_.reset();
  }
  if (pg_database_.empty() || std::getenv("BL_KEEP_TEST_DIRS")) return;
  try {
    shared_pg_server().psql("DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
  } catch (...) {
    // The server goes with the test process; a database left on it meanwhile costs nothing.
  }
}

bl::store::store_options test_store::options() const {
  bl::store::store_options opts(sqlite_path_);
  if (!pg_database_.empty()) {
    opts.engine = bl::store::engine_kind::postgres;
    opts.conninfo = shared_pg_server().conninfo(pg_database_);
  }
  return opts;
}

std::vector<std::vector<std::string>> test_store::query_rows(
    const std::string& sql, const std::vector<std::string>& args) const {
  std::vector<std::vector<std::string>> rows;
  if (!pg_database_.empty()) {
    std::lock_guard<std::mutex> lock(pg_mu_);
    bl::store::postgres::params ps(args.begin(), args.end());
    bl::store::postgres::result r;
    try {
      if (!pg_)
        pg_ = std::make_unique<bl::store::postgres::connection>(
            shared_pg_server().conninfo(pg_database_));
      r = pg_->query(sql, ps);
    } catch (...) {
      pg_.reset();  // whatever went wrong, the next query starts on a new connection
      throw;
    }
    for (int i = 0; i < r.rows(); ++i) {
      auto& row = rows.emplace_back();
      for (int col = 0; col < r.columns(); ++col)
        row.push_back(r.is_null(i, col) ? std::string() : r.text(i, col));
    }
    return rows;
  }
  // Read-only and beside a running writer: WAL lets it read while the writer commits.
  bl::store::db d(sqlite_path_, false, true);
  d.exec("PRAGMA busy_timeout = 2000");
  bl::store::stmt s(d, sql);
  for (std::size_t i = 0; i < args.size(); ++i) s.bind(static_cast<int>(i) + 1, args[i]);
  while (s.step()) {
    auto& row = rows.emplace_back();
    for (int col = 0; col < s.columns(); ++col) row.push_back(s.text(col));
  }
  return rows;
}

std::int64_t test_store::query_int(const std::string& sql,
                                   const std::vector<std::string>& args) const {
  auto rows = query_rows(sql, args);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error("no row from: " + sql);
  return rows[0][0].empty() ? 0 : std::stoll(rows[0][0]);
}

void test_store::exec(const std::string& sql) const {
  if (!pg_database_.empty()) {
    bl::store::postgres::connection c(shared_pg_server().conninfo(pg_database_));
    c.exec(sql);
    return;
  }
  bl::store::db d(sqlite_path_, false, false);
  d.exec("PRAGMA busy_timeout = 2000");
  d.exec(sql);
}

}  // namespace bl::test
