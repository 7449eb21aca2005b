#include "gateway/store/open_store.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "gateway/core/config.hpp"

#include "gateway/store/postgres/pg_writer.hpp"
#include "gateway/store/sqlite/reader.hpp"
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
  if (opts.engine == engine_kind::postgres)
    throw store_error(fault::unavailable,
                      "the PostgreSQL engine's reader is not built yet: the gateway runs on "
                      "\"database\": {\"engine\": \"sqlite\", ...} until it is (issue 15)");
  return std::make_unique<sqlite::reader>(opts.path, opts.vfs);
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
