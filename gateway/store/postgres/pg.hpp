#pragma once
// Thin RAII wrappers over libpq, PostgreSQL's C API (docs/architecture.md says why not libpqxx).
// SQL failures are raised as store_error whose kind comes from the SQLSTATE and whose message
// carries the SQLSTATE and the server's primary message, never a password. Nothing of libpq
// leaves gateway/store/postgres.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/store/store_error.hpp"

struct pg_conn;
struct pg_result;

namespace bl::store::postgres {

/// `conninfo` with the value of every password (key/value form `password=...`, quoted or not,
/// and the password of a postgresql:// URI, in its user part or its query) replaced by "***",
/// for messages and logs.
std::string redact_conninfo(std::string_view conninfo);

/// The store fault a SQLSTATE stands for (empty: no SQLSTATE, the connection failed).
fault fault_from_sqlstate(std::string_view sqlstate);

/// One text parameter: std::nullopt is SQL NULL.
using param = std::optional<std::string>;
using params = std::vector<param>;
inline param p(std::int64_t v) {
  return std::to_string(v);
}
inline param p(const std::string& v) {
  return v;
}
inline param p(const char* v) {
  return std::string(v);
}
inline param p(bool v) {
  return std::string(v ? "true" : "false");
}
/// NULL when empty (the SQLite engine stores empty optional strings as NULL too).
inline param p_or_null(const std::string& v) {
  return v.empty() ? param() : param(v);
}
inline param p(std::optional<std::int64_t> v) {
  return v ? p(*v) : param();
}

/// A query's result (PGresult), text format. Move-only.
class result {
 public:
  result() = default;
  explicit result(pg_result* r) : r_(r) {}
  ~result();
  result(result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  result& operator=(result&& o) noexcept;
  result(const result&) = delete;
  result& operator=(const result&) = delete;

  int rows() const;
  int columns() const;
  /// Whether the column is of type boolean (its text is "t" or "f").
  bool is_boolean(int col) const;
  bool is_null(int row, int col) const;
  std::string text(int row, int col) const;
  std::int64_t int64(int row, int col) const;
  bool boolean(int row, int col) const;
  /// Rows an INSERT, UPDATE or DELETE touched.
  std::int64_t affected() const;
  /// The command tag ("COMMIT", "ROLLBACK", "INSERT 0 1", ...).
  std::string command_status() const;

 private:
  pg_result* r_ = nullptr;
};

/// Which server of a conninfo naming several (`host=pg1,pg2`) is the primary to write to
/// (issue 16: a primary and its standby at two sites). Each host is tried on its own; of those
/// that take writes, the one on the newest timeline (a promotion starts a new one) is the
/// primary. Two writable servers on the same newest timeline are a split brain: both are
/// refused. A writable server on an older timeline than this process has already seen for the
/// same conninfo is an old primary restarted after a failover: it is refused too (fencing), and
/// so is every connection still open to it (connection::timeline()). Throws store_error
/// (unavailable) naming every host and why it was not chosen, never a password.
struct primary_choice {
  std::string host;           // the chosen server, "host:port"
  std::int64_t timeline = 0;  // its timeline (0: a single host in recovery, or not known)
  std::string summary;        // every host and what it was found to be, for logs
};
/// Probes the servers of `conninfo` and raises this process's fence to the newest primary's
/// timeline without keeping a connection (the cluster thread's fence check, every few seconds).
primary_choice probe_primary(const std::string& conninfo);
/// The newest timeline this process has seen a primary on for `conninfo` (0: none yet).
std::int64_t fence_timeline(const std::string& conninfo);

/// One connection (PGconn) with its prepared statements. Not thread-safe: one thread owns it.
class connection {
 public:
  /// Connects (to the primary, when the conninfo names several servers: primary_choice); throws
  /// store_error (unavailable) naming the server without its password.
  explicit connection(const std::string& conninfo);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Runs one or more statements without parameters (simple query protocol, one round trip);
  /// returns the last statement's result.
  result exec(const std::string& sql);
  /// Runs `sql` with text parameters ($1, $2, ...), unprepared.
  result query(const std::string& sql, const params& ps = {});
  /// Runs `sql` as the connection's prepared statement for it, prepared on first use and kept
  /// until the connection closes. Statements queued with send() go first, in the same round
  /// trip; the first of them that failed is raised here.
  result prepared(const std::string& sql, const params& ps = {});
  /// Queues `sql` (one statement) as its prepared statement without waiting for its result:
  /// libpq's pipeline mode sends it at once and the server runs it in order, but its result is
  /// read, and a failure raised, by the next call that waits (prepared(), query(), exec(),
  /// flush()). For writes whose result nobody needs: they cost no round trip of their own.
  void send(const std::string& sql, const params& ps = {});
  /// Queues one statement without parameters, unprepared (SAVEPOINT, COMMIT, ...), as send().
  void send_command(const std::string& sql);
  /// Waits for every queued statement and returns the last one's result; raises the first
  /// failure among them (those after it were not run). Nothing queued: an empty result.
  result flush();
  /// flush(), returning every queued statement's result in the order they were queued.
  std::vector<result> flush_all();
  /// Statements queued and not yet read back.
  std::size_t queued() const { return pending_.size(); }
  /// After the server went away (restart, failover, terminated backend): connects again with
  /// the same conninfo and forgets the prepared statements. Returns whether it had to; throws
  /// store_error (unavailable) while the server cannot be reached.
  bool reconnect_if_broken();
  /// Whether the connection is gone (the server went away or the socket failed): it can only be
  /// reset or dropped.
  bool broken() const;
  /// COPY ... FROM STDIN (text format), for bulk loads: copy_begin() starts it, copy_put()
  /// sends any number of whole or partial lines, copy_end() finishes it and raises the server's
  /// verdict (a bad row fails the whole COPY, naming its line). Nothing else may run on the
  /// connection in between.
  void copy_begin(const std::string& sql);
  void copy_put(std::string_view data);
  void copy_end();
  /// Whether a transaction is open (idle in transaction, or in a failed one).
  bool in_transaction() const;
  /// The server's process id for this connection (pg_terminate_backend in tests).
  int backend_pid() const;
  /// LISTEN/NOTIFY: waits up to `timeout_ms` for the server to send something (a notification
  /// of a channel this connection LISTENs to), reads what arrived and returns the payloads of
  /// the notifications received since the last call, oldest first (those that arrived during
  /// other statements included). Returns at once when some are already waiting. Throws
  /// store_error (unavailable) when the connection is gone: the caller reconnects and LISTENs
  /// again, and must assume it missed some.
  std::vector<std::string> wait_notifications(int timeout_ms);
  /// The conninfo with its password redacted, for messages.
  const std::string& name() const { return name_; }
  /// The timeline of the primary this connection is on (0: not known).
  std::int64_t timeline() const { return timeline_; }
  /// The server this connection is on ("host:port").
  const std::string& server() const { return server_; }

 private:
  /// Connects to the primary of conninfo_ (connect_primary) and applies the session settings.
  void open();
  /// Refuses to go on when a newer primary has been seen since this connection was made: the
  /// server it is on was the primary before a failover (fencing).
  void check_fence();
  pg_conn* c_ = nullptr;
  std::string conninfo_;  // with the password: kept to connect again, never shown
  std::string name_;
  std::string server_;
  std::int64_t timeline_ = 0;
  std::shared_ptr<std::atomic<std::int64_t>> fence_;       // this process's newest timeline seen
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
  std::string copy_sql_;                                   // the COPY in progress, for messages
  // Pipeline mode: what was sent and not yet read back, in order (a prepare counts as one).
  struct queued_statement {
    std::string sql;
    bool prepare = false;
  };
  std::vector<queued_statement> pending_;
  bool pipeline_ = false;
  bool needs_reset_ = false;  // left in pipeline mode by a failure: reconnect before use
  result check(pg_result* r, std::string_view sql);
  /// The session's settings, after every connect and reset.
  void session_settings();
  void enter_pipeline();
  void leave_pipeline() noexcept;
  [[noreturn]] void send_failed(std::string_view sql);
  const std::string& statement_name(const std::string& sql, bool in_pipeline);
};

}  // namespace bl::store::postgres
