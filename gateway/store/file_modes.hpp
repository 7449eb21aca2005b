#pragma once
// Who may read the files Bluelink writes. The database holds transfer contents (personal data),
// password hashes and CSRF tokens; its -wal and -shm hold the same pages. They and the log file
// are created 0600 (owner only), or 0640 with a configured group (a backup or log shipper's),
// never world-readable whatever the caller's umask.

#include <string>

namespace bl::store {

/// Sets the process umask to 0077, or 0027 when `group` is given, so that every file the
/// process creates from now on (the database, its -wal and -shm, logs, state) is private.
/// Call before opening any file.
void restrict_umask(const std::string& group);

/// Gives `path` (when it exists) mode 0600, or 0640 and group `group`; for a database also its
/// -wal and -shm. Creates an absent database file empty with that mode first, so SQLite, which
/// copies the database's mode to the -wal and -shm it creates, never makes them wider.
/// Throws std::runtime_error naming the file and the reason (unknown group, not permitted).
/// Returns true if an existing file's mode or group had to be tightened.
bool protect_file(const std::string& path, const std::string& group, bool database);

}  // namespace bl::store
