#pragma once
// The telephony call import's store on PostgreSQL, with the SQLite call store's behaviour
// (gateway/store/sqlite/call_store.hpp): batches made idempotent by the calls' external ids
// (the unique key calls.external_id), the call_imports ledger row written with the last batch,
// and the look-ups of a dry run, which create nothing.
//
// Ownership, threading, lifetime: the store holds the conninfo; each import opens a connection
// of its own (begin_import) and runs each batch in one transaction, so a live gateway writing the
// same database waits for nothing but the row locks of the calls being inserted. A dry run's
// look-ups share one connection made at the first. Not thread-safe: one import, one thread.

#include <memory>
#include <string>

#include "gateway/store/call_store.hpp"

namespace bl::store::postgres {

/// A call store on the database `conninfo` names (the password already in it). Connects on first
/// use: begin_import migrates the database first as the gateway does at start (refusing a
/// foreign or newer one); call_stored and list_imports only read, and find nothing in a
/// database without Bluelink's tables yet.
std::unique_ptr<call_store> open_pg_call_store(const std::string& conninfo);

}  // namespace bl::store::postgres
