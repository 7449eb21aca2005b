#pragma once
// Opens the store on the engine that store_options names (SQLite by default, or PostgreSQL): the
// one place that knows which implementations exist. Everything else holds the interfaces.

#include <memory>
#include <string>
#include <vector>

#include "gateway/store/account_store.hpp"
#include "gateway/store/call_store.hpp"
#include "gateway/store/cluster_store.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/report_store.hpp"
#include "gateway/store/writer.hpp"

namespace bl {
struct gateway_config;
}

namespace bl::store {

/// The store a gateway config names: its SQLite file, or its PostgreSQL connection with the
/// password read from database.password_file or database.password_env. Throws
/// std::runtime_error naming the file or variable (never the password) when it cannot be read.
store_options options_for(const gateway_config& cfg);

/// The database password from `file` (its first line) or from the environment variable `env`
/// (whichever is set; "" when neither is). Throws std::runtime_error naming the file or variable,
/// never the password, when it cannot be read or is empty.
std::string read_database_password(const std::string& file, const std::string& env);

/// The libpq connection string of a PostgreSQL store: its conninfo with the password added
/// (quoted, or percent-encoded in a URI). Never to be logged: describe() is for messages.
std::string postgres_connection_string(const store_options& opts);

/// Opens (creating and migrating when needed) the store for writing. Throws store_error with an
/// operator-readable message when it is unreachable, foreign, newer than this binary or damaged.
std::unique_ptr<writer> open_writer(const store_options& opts);

/// Opens the store for reading (the connections are made on first use).
std::unique_ptr<reader> open_reader(const store_options& opts);

/// The console accounts (users and sessions) of the store, on a connection of their own. The
/// store must exist and be migrated (open_writer first, as the gateway and the CLI do). Throws
/// store_error when it cannot be opened or reached.
std::unique_ptr<account_store> open_account_store(const store_options& opts);

/// The telephony call import's store. Connects on first use; begin_import creates and migrates
/// the store when needed, the look-ups of a dry run create nothing.
std::unique_ptr<call_store> open_call_store(const store_options& opts);

/// The savings report's reads: each report on connections of its own (report_store.hpp says
/// which snapshots it reads).
/// Connects only when it reads.
std::unique_ptr<report_store> open_report_store(const store_options& opts);

/// What the nodes of a store tell each other (cluster_store.hpp), on a connection of its own made
/// on first use; nullptr for an engine that has one node only (SQLite).
std::unique_ptr<cluster_store> open_cluster_store(const store_options& opts);

/// What `bluelink store migrate` did.
struct migrate_summary {
  int from_version = 0;
  int to_version = 0;
  std::vector<std::string> grants;  // the GRANT/REVOKE statements run (none without a role)
};

/// PostgreSQL only (an SQLite file is migrated by whoever opens it): brings the schema to this
/// binary's version, run as the database's owner role, and then, when `gateway_role` is not
/// empty, gives that role the gateway's row rights and nothing more (docs/operations.md, "Roles").
/// Throws store_error when the server cannot be reached, the database is foreign or newer, or
/// the role does not exist; std::invalid_argument for an SQLite store.
migrate_summary migrate_postgres(const store_options& opts, const std::string& gateway_role);

/// "sqlite:/path/to/file" or "postgres:<conninfo>" for logs and messages (never a password).
std::string describe(const store_options& opts);

}  // namespace bl::store
