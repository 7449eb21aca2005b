#pragma once
// Console accounts on SQLite: the users and sessions tables (created by the migrations), on a
// connection of the store's own, separate from the engine's writer, which never touches them.

#include <memory>

#include "gateway/store/account_store.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

/// Opens the SQLite file at o.path (already created and migrated by the writer) with a
/// connection of its own (o.busy_timeout_ms, through o.vfs when set; foreign keys on), serialised
/// by a mutex. Throws store_error when the file cannot be opened.
std::unique_ptr<account_store> open_sqlite_account_store(const store_options& o);

}  // namespace bl::store
