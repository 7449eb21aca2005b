#pragma once
// The PostgreSQL schema, versioned in table `bluelink_schema` (application marker and version).
// migrate() refuses a foreign database (tables, but not a Bluelink store) and a newer schema with
// store_error(fault::corrupt), and runs every missing version in one transaction under an
// advisory lock, so that two gateway processes starting together do not both migrate.

#include <string>
#include <string_view>
#include <vector>

namespace bl::store::postgres {

class connection;

struct pg_migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

/// Every migration, oldest first.
const std::vector<pg_migration>& all_pg_migrations();
/// The application marker in bluelink_schema.
inline constexpr std::string_view schema_application = "bluelink";

/// Brings the connection's database up to the latest version (or to `upto`, for tests of an
/// upgrade). Needs no transaction open.
void migrate(connection& c, int upto = 0);
/// The database's schema version (0: none yet).
int schema_version(connection& c);
/// Gives `role` the rights a gateway needs and no more: row rights on every table, except that
/// the audit log only takes new rows and the schema marker is read-only; no right to create,
/// alter or drop anything (so no right to drop the audit log's triggers). Also for the tables a
/// later migration adds (default privileges). Run as the database's owner, after migrate(); in
/// one transaction. Returns the statements run. Throws store_error when `role` does not exist.
std::vector<std::string> grant_gateway_rights(connection& c, const std::string& role);

}  // namespace bl::store::postgres
