#pragma once
// A PostgreSQL 15 server the benchmark starts for itself, as tests/support/pg_server does for the
// tests: a fresh cluster (initdb) in a temporary directory, reachable only on a Unix socket in
// that directory, fsync on and synchronous_commit=on (a receipt means the commit is flushed), and
// stopped with the directory removed when the object goes. No system service is touched.
//
// Ownership, threading, lifetime: owned by one thread of the benchmark for one measurement; the
// server lives exactly as long as the object.

#include <filesystem>
#include <string>

namespace bl::bench {

class pg_cluster {
 public:
  /// initdb (as the `postgres` OS user when running as root) in a new directory under `base`,
  /// start, and create the database `bench`. Throws std::runtime_error with the server's log.
  explicit pg_cluster(const std::filesystem::path& base);
  ~pg_cluster();
  pg_cluster(const pg_cluster&) = delete;
  pg_cluster& operator=(const pg_cluster&) = delete;

  /// libpq connection string for the database `bench` (trust authentication on the socket).
  std::string conninfo() const;
  /// The postmaster's process id (for the CPU the server used).
  int postmaster_pid() const;
  const std::filesystem::path& dir() const { return dir_; }
  /// The server's version line (`postgres --version`).
  const std::string& version() const { return version_; }

 private:
  std::filesystem::path dir_;
  std::string bindir_;
  std::string version_;
  int port_ = 0;
  bool as_postgres_ = false;
  bool running_ = false;
  int run(const std::string& command) const;
  /// Stops the server (fast, then immediate) and removes the directory.
  void stop() noexcept;
  std::string tool(const std::string& name) const;
};

}  // namespace bl::bench
