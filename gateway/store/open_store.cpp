#include "gateway/store/open_store.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "gateway/core/config.hpp"

#include "gateway/store/sqlite/reader.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "gateway/store/store_error.hpp"

namespace bl::store {

namespace {
[[noreturn]] void no_postgres() {
  throw store_error(fault::unavailable,
                    "this gateway was built without the PostgreSQL engine; use "
                    "\"database\": {\"engine\": \"sqlite\", ...}");
}
}  // namespace

std::unique_ptr<writer> open_writer(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) no_postgres();
  return std::make_unique<sqlite::writer>(opts);
}

std::unique_ptr<reader> open_reader(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) no_postgres();
  return std::make_unique<sqlite::reader>(opts.path, opts.vfs);
}

store_options options_for(const gateway_config& cfg) {
  store_options o(cfg.database_path, cfg.synchronous_full, cfg.busy_timeout_ms);
  if (cfg.database_engine != "postgres") return o;
  o.engine = engine_kind::postgres;
  o.path.clear();
  o.conninfo = cfg.database_conninfo;
  if (!cfg.database_password_file.empty()) {
    std::ifstream in(cfg.database_password_file);
    if (!in)
      throw std::runtime_error("cannot read the database password file '" +
                               cfg.database_password_file + "'");
    std::getline(in, o.password);
    if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
    if (o.password.empty())
      throw std::runtime_error("the database password file '" + cfg.database_password_file +
                               "' is empty");
  } else if (!cfg.database_password_env.empty()) {
    const char* v = std::getenv(cfg.database_password_env.c_str());
    if (!v || !*v)
      throw std::runtime_error("the environment variable " + cfg.database_password_env +
                               " (database.password_env) is not set");
    o.password = v;
  }
  return o;
}

std::string describe(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) return "postgres:" + opts.conninfo;
  return "sqlite:" + opts.path;
}

}  // namespace bl::store
