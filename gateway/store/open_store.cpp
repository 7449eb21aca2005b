#include "gateway/store/open_store.hpp"

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

std::string describe(const store_options& opts) {
  if (opts.engine == engine_kind::postgres) return "postgres";
  return "sqlite:" + opts.path;
}

}  // namespace bl::store
