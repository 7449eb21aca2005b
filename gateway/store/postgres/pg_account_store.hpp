#pragma once
// Console accounts on PostgreSQL: the users and sessions tables of migration 1, with the SQLite
// account store's behaviour (gateway/store/sqlite/account_store.hpp) for several gateway
// processes sharing one database.
//
// Ownership, threading, lifetime: owns one connection of its own (separate from the engine's
// writer, which never touches these tables), serialised by a mutex, so every member may be
// called from any thread at once, as account_store promises. The connection is made again
// before a call when the server went away (a restart, a failover), so sign-ins recover by
// themselves once the server is back; until then they fail with fault::unavailable.

#include <memory>
#include <string>

#include "gateway/store/account_store.hpp"

namespace bl::store::postgres {

/// Connects to the database `conninfo` names (the password already in it; created and migrated
/// by the writer). Throws store_error (unavailable) naming the server, never the password.
std::unique_ptr<account_store> open_pg_account_store(const std::string& conninfo);

}  // namespace bl::store::postgres
