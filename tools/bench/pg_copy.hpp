#pragma once
// Shared by the benchmark tools that time the same work on both engines (bluelink-bench --mode
// pages, bluelink-bench-reports --engine both): a PostgreSQL server of the bench's own holding a
// copy of the SQLite store the bench generated.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "tools/pg_server/pg_server.hpp"

namespace bl::bench {

/// A server of the bench's own (tools/pg_server) and the database on it holding the copy. Owns
/// the server: destroying this stops it and removes its cluster. One thread.
struct pg_copy {
  std::unique_ptr<bl::test::pg_server> server;
  std::string conninfo;   // the database holding the copy
  std::int64_t rows = 0;  // rows copied and verified
  double seconds = 0;     // the copy's wall time (VACUUM ANALYZE not included)
};

/// Starts a server in a directory under `parent` (initdb flushed to disk, so that no write-back of
/// it lands in a measurement; the server's default shared_buffers), creates `database` on it,
/// moves the SQLite store at `sqlite_path` into it with `bluelink store copy`'s library (verified),
/// printing each table as it is done on stderr, and runs VACUUM ANALYZE (as autovacuum leaves a
/// settled database). Throws what pg_server and copy_sqlite_to_postgres throw.
pg_copy copy_to_own_postgres(const std::filesystem::path& parent, const std::string& sqlite_path,
                             const std::string& database);

}  // namespace bl::bench
