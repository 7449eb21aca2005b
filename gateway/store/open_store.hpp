#pragma once
// Opens the store on the engine that store_options names (SQLite by default, or PostgreSQL): the
// one place that knows which implementations exist. Everything else holds the interfaces.

#include <memory>
#include <string>

#include "gateway/store/reader.hpp"
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

/// "sqlite:/path/to/file" or "postgres:<conninfo>" for logs and messages (never a password).
std::string describe(const store_options& opts);

}  // namespace bl::store
