#pragma once
// `bluelink store copy`: moves a site up from its SQLite file to an empty PostgreSQL database
// (issue 15, docs/operations.md "Moving up from SQLite to PostgreSQL"). Every table is copied
// with its ids, sequence numbers and hashes as they are, the PostgreSQL counters (agency_seq,
// transfer_day_seq, bluelink_counters, audit_tail, identity sequences) are set so that a gateway
// started on the target continues where the source stopped, and the copy is verified (row counts
// per table, the audit chain recomputed on the target) before it is committed.
//
// The whole copy is one PostgreSQL transaction: an interrupted copy (killed, connection lost,
// server gone) leaves the target as empty as it was, and a re-run starts again from nothing. No
// engine type appears here: callers see typed progress and summaries, and store_error.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bl::store {

/// One table's progress, reported after every `batch_rows` rows and once when it is done.
struct copy_progress {
  std::string table;
  std::int64_t done = 0;
  std::int64_t total = 0;
  double seconds = 0;  // since this table started
  bool finished = false;
};

struct copy_table_result {
  std::string table;
  std::int64_t source_rows = 0;
  std::int64_t target_rows = 0;
  double seconds = 0;
};

struct copy_summary {
  std::vector<copy_table_result> tables;
  std::int64_t rows = 0;        // all tables
  std::int64_t audit_rows = 0;  // verified on the target
  std::string audit_tail_hash;
  int source_schema = 0;  // SQLite user_version
  int target_schema = 0;  // bluelink_schema.version after migrating
  double seconds = 0;
  /// Things an operator should know that did not stop the copy (e.g. tables that the target
  /// derives instead of copying).
  std::vector<std::string> notes;
};

struct copy_options {
  std::string sqlite_path;
  /// libpq conninfo including the password (never printed: messages use a redacted form).
  std::string pg_conninfo;
  /// Called on the copying thread; may throw to abandon the copy (the target is rolled back).
  std::function<void(const copy_progress&)> progress;
  std::int64_t batch_rows = 10'000;
};

/// The copy was made but does not verify: nothing was committed, the target is left empty.
class copy_verification_failed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Copies the SQLite store at `o.sqlite_path` into the PostgreSQL database `o.pg_conninfo`,
/// migrating the target to the latest PostgreSQL schema first. Throws store_error (source
/// missing, in use by another process, not a Bluelink store or at another schema version, with
/// a table or column this copy does not know; target unreachable, foreign or not empty; any
/// failure on the way, after which the target is as it was) or copy_verification_failed.
copy_summary copy_sqlite_to_postgres(const copy_options& o);

}  // namespace bl::store
