#pragma once
// Imports a telephony system's call records (CSV) into the phone-call log, for the savings
// report's baseline (issue 5). The rules a file is read by are in docs/operations.md section 14.
//
// Threading and lifetime: import_calls_csv is a plain function that writes through the call store
// it is given (store::call_store: batches of calls, each one transaction, and the ledger row with
// the last); it may run in a process beside a live gateway on the same store.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/csv_reader.hpp"
#include "gateway/store/call_store.hpp"

namespace bl {

/// A row that was not imported: its line in the file (where the row starts), why (a stable kind
/// such as "unknown_caller", "bad_start") and the offending value.
struct import_problem {
  std::size_t line;
  std::string kind;
  std::string detail;
};

struct import_summary {
  std::size_t rows = 0, imported = 0, already_imported = 0, skipped = 0;
  std::map<std::string, std::size_t> skipped_by_kind;  // kind -> count
  std::vector<import_problem> problems;                // every skipped row (line numbers)
  std::string file_sha256;
  std::string file_name;  // the path as given
  std::uint64_t file_bytes = 0;
  char delimiter = ',';  // detected from the header line
  bool dry_run = false;
  std::int64_t ledger_id = 0;  // the call_imports row written (0 for a dry run)
};

using import_progress = std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total)>;

/// The whole file could not be read as call records: it is missing or unreadable, it is empty,
/// or its header lacks a configured column. Nothing was written. The CSV reader throws the first
/// two itself, hence one type for both.
using import_file_error = csv_file_error;

struct import_options {
  bool dry_run = false;  // read and check everything, write nothing
  /// Called as the file is read (at most every ~0.5% of the file, and once at the end).
  std::function<void(std::uint64_t bytes_done, std::uint64_t bytes_total, std::uint64_t rows)>
      on_progress;
  /// The import's "now" for future_start; default: the system clock.
  std::optional<time_point> now;
  /// The most rows in one write transaction. Batches start smaller and grow or shrink so that
  /// one transaction takes about `batch_target`: long enough to be fast, short enough that a
  /// live gateway sharing the database (a sign-in, a receipt) waits only that long for the
  /// write lock, on a fast machine or a slow one.
  std::size_t batch_rows = 10000;
  std::chrono::milliseconds batch_target{100};
};

/// Reads CSV from `path`, maps numbers to agencies with cfg.call_import, and inserts the calls
/// (source 'import') through `calls` in batched transactions (a dry run only looks up). Throws
/// import_file_error when the file cannot be read at all, std::invalid_argument for an unusable
/// call_import config (no numbers, two entries for one number), store::store_error for the
/// store. Batches committed before a store error stay; importing again is safe.
import_summary import_calls_csv(const gateway_config& cfg, store::call_store& calls,
                                const std::string& path, const import_options& options);
import_summary import_calls_csv(const gateway_config& cfg, store::call_store& calls,
                                const std::string& path, const import_progress& progress = {},
                                bool dry_run = false);

/// A telephone number as compared: spaces, dashes, brackets, dots and slashes removed, and the UK
/// country code (+44, 0044, or 44 on a 12-digit number) written as the trunk prefix 0.
/// "+44 (0)1632 960001" and "01632-960001" both give "01632960001".
std::string normalise_phone_number(std::string_view raw);

/// The summary as JSON: counts, skipped_by_kind, and the first `max_problems` problems.
nlohmann::json to_json(const import_summary& s, std::size_t max_problems);

/// One row of the call_imports ledger.
struct call_import_record {
  std::int64_t id = 0;
  std::string file_name;
  std::string file_sha256;
  time_point imported_at{};
  std::int64_t rows = 0, imported = 0, already_imported = 0, skipped = 0;
  std::string summary;  // JSON {"kind": count} of skipped rows
};

/// The ledger, oldest first; empty when the store has no imports (or no ledger yet).
std::vector<call_import_record> list_call_imports(store::call_store& calls);

}  // namespace bl
