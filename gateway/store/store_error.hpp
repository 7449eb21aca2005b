#pragma once
// How the store fails, whatever the engine under it (SQLite or PostgreSQL): a kind that the rest
// of the gateway acts on, mapped once to a bl.store.* reply (to_error), and the engine's own code
// kept only for logs. No engine type appears here.

#include <stdexcept>
#include <string>
#include <string_view>

#include "gateway/core/error.hpp"

namespace bl::store {

enum class fault {
  full,         // the disk (or the server's disk) is full: nothing more can be written
  busy,         // locked or overloaded for longer than the store waits: retry later
  unavailable,  // cannot be reached or failed to read or write: retry once it is back
  conflict,     // another writer changed the same rows at the same moment: retry the transaction
  corrupt,      // not a Bluelink store, a newer schema, or damaged: needs an operator
};

/// "full", "busy", "unavailable", "conflict", "corrupt".
std::string_view fault_name(fault f);

class store_error : public std::runtime_error {
 public:
  store_error(fault kind, const std::string& what, int native_code = 0)
      : std::runtime_error(what), kind_(kind), native_(native_code) {}
  fault kind() const { return kind_; }
  /// The engine's own code for logs (SQLite's extended result code; 0 for PostgreSQL, whose
  /// SQLSTATE is in the message).
  int native_code() const { return native_; }

 private:
  fault kind_;
  int native_;
};

/// The reply for a store failure: bl.store.disk_full, busy, unavailable, conflict or corrupt.
error to_error(const store_error& e);

}  // namespace bl::store
