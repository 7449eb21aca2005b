#pragma once
// The telephony call-record import's reads and writes, whatever the engine: batches of imported
// calls made idempotent by their external id, the call_imports ledger, and the look-ups of a dry
// run. Phone calls logged through the gateway go through the engine's writer, not through here.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bl::store {

/// One call to import (source "import"). Times are UTC milliseconds.
struct imported_call {
  std::string external_id;  // "import:..."; a call already stored with it is left as it is
  std::string from_agency, to_agency;
  std::int64_t started_ms = 0;
  std::int64_t duration_s = 0;
  bool emergency = false;  // called on an emergency line
};

/// What a batch did.
struct batch_result {
  std::size_t inserted = 0;
  std::size_t already_stored = 0;  // an earlier import (or this one) stored the same external id
};

/// One row of the call_imports ledger, as written.
struct import_ledger_entry {
  std::string file_name;
  std::string file_sha256;
  std::int64_t imported_at_ms = 0;
  std::int64_t rows = 0, imported = 0, already_imported = 0, skipped = 0;
  std::string summary;  // JSON {"kind": count} of skipped rows
};

/// One row of the ledger, as read.
struct import_record {
  std::int64_t id = 0;
  import_ledger_entry entry;
};

/// The writes of one import. Not thread-safe: one import, one thread. Destroyed with a batch
/// half-written (after an exception), it rolls that batch back; batches committed earlier stay.
class call_import_writer {
 public:
  virtual ~call_import_writer() = default;
  /// Inserts the calls, each unless its external id is already stored, in ONE transaction.
  virtual batch_result insert_calls(const std::vector<imported_call>& calls) = 0;
  /// Inserts the last calls and then the ledger row that `ledger` makes from the import's final
  /// counts (given this batch's result), all in ONE transaction. The ledger row's id.
  virtual std::int64_t finish(
      const std::vector<imported_call>& calls,
      const std::function<import_ledger_entry(const batch_result&)>& ledger) = 0;
};

/// The call import's store. Implementations: gateway/store/sqlite/call_store.hpp.
/// Every member throws store_error when the store fails.
class call_store {
 public:
  virtual ~call_store() = default;
  /// Opens the store for one import's writes, creating and migrating it first when it is missing
  /// or older, as the gateway does at start. Its calls are stamped created at `now_ms`.
  virtual std::unique_ptr<call_import_writer> begin_import(std::int64_t now_ms) = 0;
  /// Whether a call with this external id is stored; false when there is no store yet (a dry run
  /// creates nothing).
  virtual bool call_stored(const std::string& external_id) = 0;
  /// The ledger, oldest first; empty when there is no store or no import yet.
  virtual std::vector<import_record> list_imports() = 0;
};

}  // namespace bl::store
