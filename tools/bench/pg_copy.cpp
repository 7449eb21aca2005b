#include "tools/bench/pg_copy.hpp"

#include <chrono>
#include <cstdio>

#include "gateway/store/store_copy.hpp"

namespace bl::bench {

pg_copy copy_to_own_postgres(const std::filesystem::path& parent, const std::string& sqlite_path,
                             const std::string& database) {
  bl::test::pg_server_options po;
  po.parent = parent;
  po.shared_buffers.clear();  // the server's own default (128 MB)
  po.sync_initdb = true;
  pg_copy out;
  out.server = std::make_unique<bl::test::pg_server>(po);
  out.server->create_database(database);
  out.conninfo = out.server->conninfo(database);
  bl::store::copy_options co;
  co.sqlite_path = sqlite_path;
  co.pg_conninfo = out.conninfo;
  co.progress = [](const bl::store::copy_progress& cp) {
    if (cp.finished)
      std::fprintf(stderr, "copied %s: %lld rows in %.1f s\n", cp.table.c_str(),
                   static_cast<long long>(cp.done), cp.seconds);
  };
  std::fprintf(stderr, "moving the store to PostgreSQL (bluelink store copy's library)\n");
  const auto c0 = std::chrono::steady_clock::now();
  out.rows = bl::store::copy_sqlite_to_postgres(co).rows;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - c0).count();
  std::fprintf(stderr, "copied and verified %lld rows in %.0f s; VACUUM ANALYZE\n",
               static_cast<long long>(out.rows), out.seconds);
  out.server->psql("VACUUM ANALYZE", database);
  return out;
}

}  // namespace bl::bench
