#pragma once
// A real PostgreSQL server that a test (tests/) or the benchmark (tools/bench) starts for itself:
// a fresh cluster (initdb) in a temp directory, listening on a Unix socket in that directory and,
// only when asked (pg_server_options::tcp_loopback), on TCP 127.0.0.1. Owned by one test (or
// measurement); not thread-safe. The destructor stops the server (fast, then immediate) and removes
// the directory, so that a failing test leaves no server behind. No Catch2: the benchmark links it
// too (library bl_pg_server).

#include <filesystem>
#include <string>
#include <vector>

namespace bl::test {

/// How a pg_server's cluster is made; the defaults are the tests'.
struct pg_server_options {
  /// fsync on, as in production (the crash and fault tests need it); false for tests of behaviour
  /// only, which then spend no time waiting for the disk (a machine crash would lose the cluster,
  /// which a test throws away anyway).
  bool durable = true;
  /// Where the cluster's directory is made; empty: the system's temp directory.
  std::filesystem::path parent;
  int max_connections = 30;
  /// shared_buffers; empty: the server's default.
  std::string shared_buffers = "16MB";
  /// initdb flushes the new cluster to disk before it returns (the benchmark, so that no
  /// write-back of it lands in a measurement); false: initdb --no-sync.
  bool sync_initdb = false;
  /// Also listens on TCP 127.0.0.1 (loopback only) at port(), and conninfo() and a standby of it
  /// connect that way, as nodes and standbys do over a network (the failover drill); false: the
  /// Unix socket only.
  bool tcp_loopback = false;
};

/// The processes whose parent is `pid` (from /proc): a server's backends, WAL writer and
/// checkpointer under its postmaster.
std::vector<int> children_of(int pid);

class pg_server {
 public:
  /// initdb (as the `postgres` OS user when running as root: initdb refuses root) and start.
  /// Throws std::runtime_error with the server's log when either fails.
  explicit pg_server(const pg_server_options& options);
  /// The tests' server, durable or not (pg_server_options::durable).
  explicit pg_server(bool durable = true);
  /// A streaming standby of `primary` (issue 16): a base backup of it (pg_basebackup -R), started
  /// in recovery with its own port and socket, connecting to the primary as `application_name`
  /// (the name synchronous_standby_names gives). Waits until it streams.
  pg_server(const pg_server& primary, const std::string& application_name);
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// libpq connection string for `db` as the cluster's superuser `bluelink` (trust auth).
  std::string conninfo(const std::string& db = "postgres") const;
  /// CREATE DATABASE `name` (psql).
  void create_database(const std::string& name);
  /// Runs `sql` with psql on `db` and returns its unaligned output (rows on lines, columns split
  /// by '|'). Throws std::runtime_error with psql's message when it fails.
  std::string psql(const std::string& sql, const std::string& db = "postgres") const;
  /// Starts the server on the same data directory (after stop() or kill()).
  void start();
  /// pg_ctl stop -m fast (immediate if that fails).
  void stop();
  /// SIGKILLs the postmaster and its backends: a crash of the server's machine, as far as the
  /// database files are concerned.
  void kill();
  bool running() const { return running_; }
  /// Makes this primary wait for `standby_name` to confirm every commit
  /// (synchronous_standby_names, synchronous_commit=on); empty: asynchronous.
  void require_sync_standby(const std::string& standby_name);
  /// Promotes this standby to primary (pg_ctl promote) and waits until it takes writes.
  void promote();
  /// Sends `sig` to this standby's WAL receiver (SIGSTOP stalls it, SIGCONT lets it go on).
  /// Returns whether there was one.
  bool signal_wal_receiver(int sig);
  /// The timeline the server writes on now (a primary) or replays (a standby).
  int timeline() const;
  /// The postmaster's process id, from its pid file (0 when there is none).
  int postmaster_pid() const;
  /// The server's version line (`postgres --version`).
  std::string version() const;
  const std::filesystem::path& dir() const { return dir_; }
  /// What libpq's `host` names to reach it: 127.0.0.1 when it listens on TCP, else its socket
  /// directory.
  std::string host() const { return tcp_ ? "127.0.0.1" : dir_.string(); }
  int port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::string bindir_;
  int port_ = 0;
  bool as_postgres_ = false;  // running as root: the server's commands run as `postgres`
  bool running_ = false;
  bool tcp_ = false;  // listens on TCP 127.0.0.1 too (pg_server_options::tcp_loopback)
  /// Makes dir_, a new directory under `parent` readable by its owner only, and gives it to the
  /// `postgres` user when running as root (as_postgres_).
  void make_dir(const std::filesystem::path& parent, const std::string& prefix);
  int run(const std::string& command) const;
  std::string tool(const std::string& name) const;
  std::string log_tail() const;
};

}  // namespace bl::test
