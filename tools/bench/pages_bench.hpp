#pragma once
// bluelink-bench --mode pages: what an operator's or a CAD's page costs on a year of history
// (issue 15). Generates a database of --transfers transfers stored as the engine stores them
// (messages, timeline events, deliveries, hash-chained audit rows, incident numbers), then times
// the reads a console and a CAD wait on through the real bl::store::reader, and the queries they
// replaced on the same file; with --engine postgres|both, the same pages on PostgreSQL holding
// the same store (results in docs/benchmarks.md).

#include <cstdint>
#include <string>

namespace bl::bench {

struct pages_options {
  std::int64_t transfers = 1'000'000;
  int runs = 20;
  std::string dir;     // where the database goes (default: a temp dir, removed after)
  bool reuse = false;  // time the database an earlier run left in --dir
  /// sqlite: the pages on the generated file; postgres: on a PostgreSQL server the bench starts,
  /// holding the same store (moved with `bluelink store copy`'s library); both: side by side.
  std::string engine = "sqlite";
  std::string write_path;
  std::string command;
};

/// Generates (or reuses) the database, times every page, prints Markdown and writes it to
/// `write_path` when set. Returns the process exit code.
int run_pages(const pages_options& o);

/// Writes a year of `transfers` transfers ending today into a new SQLite file at `path`, as
/// --mode pages does (what each holds: pages_bench.cpp); returns how many audit rows it holds.
std::int64_t generate_history(const std::string& path, std::int64_t transfers);

struct purge_bench_options {
  std::int64_t transfers = 1'000'000;  // the year of history generate_history() writes
  int batch = 50;                      // transfers per purge transaction (--purge-batch)
  std::string dir;                     // where the database goes (default: a temp dir)
  std::string write_path;
  std::string command;
};

/// bluelink-bench --mode purge (issue 18): the retention purge of a year of a busy hub while
/// live traffic runs (purge_bench.cpp). Returns the process exit code.
int run_purge_bench(const purge_bench_options& o);

}  // namespace bl::bench
