#include "gateway/store/open_store.hpp"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "gateway/core/config.hpp"

#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/postgres/pg_account_store.hpp"
#include "gateway/store/postgres/pg_call_store.hpp"
#include "gateway/store/postgres/pg_cluster_store.hpp"
#include "gateway/store/postgres/pg_reader.hpp"
#include "gateway/store/postgres/pg_report_store.hpp"
#include "gateway/store/postgres/pg_writer.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/sqlite/call_store.hpp"
#include "gateway/store/sqlite/reader.hpp"
#include "gateway/store/sqlite/report_store.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "gateway/store/store_error.hpp"

namespace bl::store {

namespace {
/// libpq's keyword=value quoting: single quotes, with \ and ' escaped.
std::string quoted(const std::string& v) {
  std::string out = "'";
  for (char ch : v) {
    if (ch == '\\' || ch == '\'') out += '\\';
    out += ch;
  }
  return out + "'";
}

}  // namespace

/// The connection string with the password (from a file or the environment) added; never
/// logged (describe() shows the configured conninfo, which holds none).
std::string postgres_connection_string(const store_options& opts) {
  if (opts.password.empty()) return opts.conninfo;
  // A URI takes the password as a query parameter; keyword=value appends it.
  if (opts.conninfo.rfind("postgres", 0) == 0 && opts.conninfo.find("://") != std::string::npos) {
    std::string enc;
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char ch : opts.password) {
      if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
        enc += static_cast<char>(ch);
      } else {
        enc += '%';
        enc += hex[ch >> 4];
        enc += hex[ch & 15];
      }
    }
    return opts.conninfo + (opts.conninfo.find('?') == std::string::npos ? "?" : "&") +
           "password=" + enc;
  }
  return opts.conninfo + " password=" + quoted(opts.password);
}

std::unique_ptr<writer> open_writer(const store_options& opts) {
  if (opts.engine == engine_kind::postgres)
    return std::make_unique<postgres::pg_writer>(postgres_connection_string(opts));
  return std::make_unique<sqlite::writer>(opts);
}

std::unique_ptr<reader> open_reader(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) {
    postgres::pg_reader_config cfg;
    cfg.conninfo = postgres_connection_string(opts);
    // The store's busy timeout bounds a read's wait for a lock, as SQLite's busy_timeout does.
    if (opts.busy_timeout_ms > 0)
      cfg.lock_timeout = std::chrono::milliseconds(opts.busy_timeout_ms);
    return std::make_unique<postgres::pg_reader>(std::move(cfg));
  }
  return std::make_unique<sqlite::reader>(opts.path, opts.vfs);
}

std::unique_ptr<account_store> open_account_store(const store_options& opts) {
  if (opts.engine == engine_kind::postgres)
    return postgres::open_pg_account_store(postgres_connection_string(opts));
  return open_sqlite_account_store(opts);
}

std::unique_ptr<call_store> open_call_store(const store_options& opts) {
  if (opts.engine == engine_kind::postgres)
    return postgres::open_pg_call_store(postgres_connection_string(opts));
  return open_sqlite_call_store(opts);
}

std::unique_ptr<report_store> open_report_store(const store_options& opts) {
  if (opts.engine == engine_kind::postgres)
    return postgres::open_pg_report_store(postgres_connection_string(opts));
  return open_sqlite_report_store(opts);
}

std::unique_ptr<cluster_store> open_cluster_store(const store_options& opts) {
  if (opts.engine != engine_kind::postgres) return nullptr;
  return std::make_unique<postgres::pg_cluster_store>(postgres_connection_string(opts));
}

migrate_summary migrate_postgres(const store_options& opts, const std::string& gateway_role) {
  if (opts.engine != engine_kind::postgres)
    throw std::invalid_argument(
        "only a PostgreSQL store is migrated by `bluelink store migrate`; an SQLite file is "
        "migrated by the gateway (or any command) that opens it");
  postgres::connection c(postgres_connection_string(opts));
  migrate_summary out;
  out.from_version = postgres::schema_version(c);
  postgres::migrate(c);
  out.to_version = postgres::schema_version(c);
  if (!gateway_role.empty()) out.grants = postgres::grant_gateway_rights(c, gateway_role);
  return out;
}

std::string read_database_password(const std::string& file, const std::string& env) {
  std::string password;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw std::runtime_error("cannot read the database password file '" + file + "'");
    std::getline(in, password);
    if (!password.empty() && password.back() == '\r') password.pop_back();
    if (password.empty())
      throw std::runtime_error("the database password file '" + file + "' is empty");
  } else if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (!v || !*v) throw std::runtime_error("the environment variable " + env + " is not set");
    password = v;
  }
  return password;
}

store_options options_for(const gateway_config& cfg) {
  store_options o(cfg.database_path, cfg.synchronous_full, cfg.busy_timeout_ms);
  if (cfg.database_engine != "postgres") return o;
  o.engine = engine_kind::postgres;
  o.path.clear();
  o.conninfo = cfg.database_conninfo;
  o.password = read_database_password(cfg.database_password_file, cfg.database_password_env);
  return o;
}

std::string describe(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) return "postgres:" + opts.conninfo;
  return "sqlite:" + opts.path;
}

}  // namespace bl::store
