#pragma once
// Versioned schema migrations. Each entry runs once, in order, inside a transaction; the applied
// version is kept in PRAGMA user_version so an older binary refuses a newer database.

#include <string_view>
#include <vector>

namespace bl::store {

class db;

struct migration {
  int version;
  std::string_view description;
  std::string_view sql;
  /// The tables whose references a step that rebuilds a table must leave whole (checked with
  /// PRAGMA foreign_key_check before the step commits; empty: none).
  std::string_view check_references = {};
};

const std::vector<migration>& all_migrations();
/// Brings `d` up to the latest version; throws store_error if the file is newer than this binary.
void migrate(db& d);

}  // namespace bl::store
