#include "gateway/store/store_copy.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>

#include "gateway/store/audit_verify.hpp"
#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/store_error.hpp"
#include "gateway/store/writer.hpp"

namespace bl::store {

namespace {

using clock_type = std::chrono::steady_clock;
namespace pgs = postgres;

// How a column's SQLite value becomes PostgreSQL COPY text. SQLite is dynamically typed, so each
// value is checked against the kind its PostgreSQL column has; a value of another type is
// refused (naming table, row and column) rather than converted into something it was not.
enum class kind { text, integer, boolean };

struct column {
  const char* name;
  kind k;
};

// One table of the store as both engines have it. Adding a table or a column later is one entry
// here (and the PostgreSQL migration that creates it). `identity` names a column that
// PostgreSQL fills from an identity sequence, which is advanced past the copied ids.
struct table {
  const char* name;
  std::vector<column> columns;
  const char* identity = nullptr;
};

constexpr kind T = kind::text;
constexpr kind I = kind::integer;
constexpr kind B = kind::boolean;

// In an order that satisfies the foreign keys (sessions after users, phone_claims and
// legal_holds after transfers): the target checks them row by row as COPY inserts.
const std::vector<table>& tables() {
  static const std::vector<table> list = {
      {"settings", {{"key", T}, {"value", T}}},
      {"messages",
       {{"id", T},
        {"type", T},
        {"from_agency", T},
        {"to_agency", T},
        {"transfer_id", T},
        {"version", I},
        {"mode", T},
        {"sent_at", I},
        {"stored_at", I},
        {"doc", T},
        {"receipt", T}}},
      {"originals",
       {{"message_id", T},
        {"standard", T},
        {"media_type", T},
        {"body", T},
        {"digest", T},
        {"answer", T},
        {"received_at", I}}},
      {"transfers",
       {{"id", T},
        {"state", T},
        {"version", I},
        {"category", T},
        {"priority", T},
        {"mode", T},
        {"requester", T},
        {"responder", T},
        {"request_message_id", T},
        {"created_at", I},
        {"updated_at", I},
        {"expires_at", I},
        {"delivery_due", I},
        {"decision_due", I},
        {"delivery_alerted", B},
        {"decision_alerted", B},
        {"next_due", I},
        {"purged_at", I}}},
      {"legal_holds",
       {{"id", I},
        {"transfer_id", T},
        {"agency", T},
        {"placed_by", T},
        {"placed_at", I},
        {"reason", T},
        {"lifted_by", T},
        {"lifted_at", I},
        {"lift_reason", T}},
       "id"},
      {"incident_numbers", {{"transfer_id", T}, {"agency", T}, {"number", T}, {"recorded_at", I}}},
      {"transfer_events",
       {{"id", I},
        {"transfer_id", T},
        {"at", I},
        {"kind", T},
        {"actor", T},
        {"message_id", T},
        {"from_state", T},
        {"to_state", T},
        {"version", I},
        {"detail", T}}},
      {"deliveries",
       {{"agency", T},
        {"seq", I},
        {"message_id", T},
        {"transfer_id", T},
        {"type", T},
        {"created_at", I},
        {"acked_at", I}}},
      {"endpoints", {{"agency", T}, {"acked_upto", I}}},
      {"audit",
       {{"seq", I},
        {"at", I},
        {"actor", T},
        {"action", T},
        {"message_id", T},
        {"transfer_id", T},
        {"detail", T},
        {"prev_hash", T},
        {"hash", T},
        {"detail_sha256", T},
        {"erased_by", I}}},
      {"access_log",
       {{"seq", I},
        {"at", I},
        {"operation", T},
        {"agency", T},
        {"actor", T},
        {"actor_kind", T},
        {"channel", T},
        {"object", T},
        {"transfer_id", T},
        {"ref", T},
        {"recipients", T},
        {"justification", T}}},
      {"users",
       {{"id", I},
        {"username", T},
        {"display_name", T},
        {"role", T},
        {"agency", T},
        {"password_hash", T},
        {"disabled", B},
        {"created_at", I},
        {"updated_at", I}},
       "id"},
      {"sessions",
       {{"token_sha256", T},
        {"user_id", I},
        {"csrf_token", T},
        {"created_at", I},
        {"last_seen", I},
        {"expires_at", I},
        {"ended_at", I},
        {"remote", T}}},
      {"calls",
       {{"id", I},
        {"source", T},
        {"external_id", T},
        {"from_agency", T},
        {"to_agency", T},
        {"started_at", I},
        {"duration_s", I},
        {"emergency", B},
        {"reason", T},
        {"transfer_id", T},
        {"logged_by", T},
        {"exercise", B},
        {"note", T},
        {"created_at", I},
        {"purged_at", I}},
       "id"},
      {"call_imports",
       {{"id", I},
        {"file_name", T},
        {"file_sha256", T},
        {"imported_at", I},
        {"rows", I},
        {"imported", I},
        {"already_imported", I},
        {"skipped", I},
        {"summary", T}},
       "id"},
      {"phone_claims",
       {{"transfer_id", T},
        {"agency", T},
        {"prompt", T},
        {"username", T},
        {"display_name", T},
        {"counterpart", T},
        {"claimed_at", I}}},
  };
  return list;
}

// SQLite tables that are not copied because they are derived from the copied rows, with what
// the target does instead. Any other table in the source stops the copy: it would be lost.
struct derived_table {
  const char* name;
  const char* note;
};
const std::vector<derived_table>& derived_tables() {
  static const std::vector<derived_table> list = {
      {"transfer_state_counts",
       "transfer_state_counts (the SQLite engine's per-state totals for /metrics, kept by "
       "triggers) is derived from transfers and was not copied"},
  };
  return list;
}

// The PostgreSQL counter rows that the copy sets from the copied rows, so that a gateway
// started on the target hands out the next number after the source's last: one statement each.
// The SQLite engine derives the same numbers from the same rows (MAX(seq) per agency, the day's
// MAX(id), MAX(transfer_events.id), the last audit row; it counts the inbox quota with a query).
const std::vector<std::pair<const char*, const char*>>& counter_statements() {
  static const std::vector<std::pair<const char*, const char*>> list = {
      {"agency_seq",
       "INSERT INTO agency_seq(agency, last_seq) SELECT agency, max(seq) FROM deliveries"
       " GROUP BY agency"},
      {"transfer_day_seq",
       "INSERT INTO transfer_day_seq(day, last_no)"
       " SELECT substr(id, 3, 8), max(substr(id, 12)::bigint) FROM transfers"
       " WHERE id ~ '^T-[0-9]{8}-[0-9]{6}$' GROUP BY 1"},
      {"bluelink_counters",
       "UPDATE bluelink_counters SET value = (SELECT COALESCE(max(id), 0) FROM transfer_events)"
       " WHERE name = 'transfer_events'"},
      {"audit_tail",
       "UPDATE audit_tail SET seq = a.seq, hash = a.hash"
       " FROM (SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a"},
      {"pending_counts",
       "INSERT INTO pending_counts(recipient, sender, n)"
       " SELECT d.agency, m.from_agency, count(*) FROM deliveries d"
       " JOIN messages m ON m.id = d.message_id"
       " WHERE d.seq > COALESCE((SELECT acked_upto FROM endpoints e WHERE e.agency = d.agency), 0)"
       " GROUP BY d.agency, m.from_agency"},
  };
  return list;
}

// PostgreSQL tables that hold rows in an empty store (the schema marker and the counters the
// migration seeds, and the nodes' heartbeats and CAD leases, which hold no data of their own);
// every other table must be empty before the copy.
const std::set<std::string>& seeded_tables() {
  static const std::set<std::string> s = {"bluelink_schema", "audit_tail", "bluelink_counters",
                                          "cluster_nodes", "cad_leases"};
  return s;
}

std::string quote_ident(const std::string& name) {
  std::string out = "\"";
  for (char ch : name) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string column_list(const table& t) {
  std::string out;
  for (const auto& c : t.columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
  }
  return out;
}

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// The source: one read-only connection, one read transaction, so every table comes from the
// same snapshot even if something wrote to the file while the copy ran.
class source {
 public:
  explicit source(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw store_error(fault::unavailable, "no SQLite store at '" + path + "'");
    d_ = std::make_unique<db>(path, false, true);
    d_->exec("PRAGMA query_only = 1");
    std::int64_t app = scalar("PRAGMA application_id");
    version_ = static_cast<int>(scalar("PRAGMA user_version"));
    if (app != 0x424C4E4B)  // "BLNK", as the SQLite writer stamps its files
      throw store_error(fault::corrupt, "'" + path +
                                            "' is not a Bluelink SQLite store (its "
                                            "application_id is not Bluelink's)");
    int latest = all_migrations().back().version;
    if (version_ != latest)
      throw store_error(
          fault::corrupt,
          "'" + path + "' is at SQLite schema version " + std::to_string(version_) +
              " and this bluelink copies version " + std::to_string(latest) +
              (version_ < latest ? ": start this version's gateway on it once (it upgrades the "
                                   "file), stop it, then copy"
                                 : ": use the bluelink of the gateway that wrote it"));
    // The snapshot starts with the first read after BEGIN.
    d_->exec("BEGIN");
    scalar("SELECT count(*) FROM sqlite_master");
  }
  ~source() {
    try {
      d_->exec("ROLLBACK");
    } catch (...) {
      // Read-only: ending the read transaction can only fail if the connection is gone.
    }
  }

  int version() const { return version_; }
  sqlite3* handle() { return d_->handle(); }

  std::int64_t scalar(const std::string& sql) {
    stmt s(*d_, sql);
    return s.step() ? s.int64(0) : 0;
  }

  std::vector<std::string> table_names() {
    stmt s(*d_,
           "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' "
           "ESCAPE '\\' ORDER BY name");
    std::vector<std::string> out;
    while (s.step()) out.push_back(s.text(0));
    return out;
  }

  std::set<std::string> columns_of(const std::string& t) {
    stmt s(*d_, "SELECT name FROM pragma_table_info(?1)");
    s.bind(1, t);
    std::set<std::string> out;
    while (s.step()) out.insert(s.text(0));
    return out;
  }

 private:
  std::string path_;
  std::unique_ptr<db> d_;
  int version_ = 0;
};

// Checks that the source holds only what the copy knows, table by table and column by column:
// anything else would be dropped without a word.
void check_source_shape(source& src) {
  std::set<std::string> known;
  for (const auto& t : tables()) known.insert(t.name);
  for (const auto& d : derived_tables()) known.insert(d.name);
  for (const auto& name : src.table_names())
    if (!known.count(name))
      throw store_error(fault::corrupt, "the SQLite store has a table '" + name +
                                            "' that this copy does not know; nothing was copied "
                                            "(it would be lost)");
  for (const auto& t : tables()) {
    auto cols = src.columns_of(t.name);
    if (cols.empty())
      throw store_error(fault::corrupt,
                        std::string("the SQLite store has no table '") + t.name + "'");
    std::set<std::string> mapped;
    for (const auto& c : t.columns) mapped.insert(c.name);
    for (const auto& c : cols)
      if (!mapped.count(c))
        throw store_error(fault::corrupt, std::string("the SQLite store's table '") + t.name +
                                              "' has a column '" + c +
                                              "' that this copy does not know; nothing was copied "
                                              "(it would be lost)");
    for (const auto& c : mapped)
      if (!cols.count(c))
        throw store_error(fault::corrupt, std::string("the SQLite store's table '") + t.name +
                                              "' lacks its column '" + c + "'");
  }
}

// Checks that the target has every table and column the copy writes: a PostgreSQL schema that
// lacks one is reported, never worked around.
void check_target_shape(pgs::connection& c) {
  for (const auto& t : tables()) {
    auto r = c.query(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1",
        {std::string(t.name)});
    std::set<std::string> cols;
    for (int i = 0; i < r.rows(); ++i) cols.insert(r.text(i, 0));
    if (cols.empty())
      throw store_error(fault::corrupt, std::string("the PostgreSQL schema has no table '") +
                                            t.name + "' to copy the SQLite table into");
    for (const auto& col : t.columns)
      if (!cols.count(col.name))
        throw store_error(fault::corrupt, std::string("the PostgreSQL table '") + t.name +
                                              "' has no column '" + col.name +
                                              "' to copy the SQLite column into");
  }
}

// Refuses a target that holds anything but an empty store: the copy never merges.
void check_target_empty(pgs::connection& c) {
  auto ts = c.query(
      "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()"
      " ORDER BY tablename");
  for (int i = 0; i < ts.rows(); ++i) {
    std::string t = ts.text(i, 0);
    if (seeded_tables().count(t)) continue;
    auto r = c.query("SELECT EXISTS (SELECT 1 FROM " + quote_ident(t) + ")");
    if (r.boolean(0, 0))
      throw store_error(fault::conflict,
                        "the target database is not empty (table '" + t +
                            "' has rows): store copy only fills an empty store; give it a new "
                            "database (CREATE DATABASE), or drop and create this one again if "
                            "it holds nothing you need");
  }
  auto tail = c.query("SELECT seq FROM audit_tail");
  auto counters = c.query("SELECT count(*) FROM bluelink_counters WHERE value <> 0");
  if (tail.rows() != 1 || tail.int64(0, 0) != 0 || counters.int64(0, 0) != 0)
    throw store_error(fault::conflict,
                      "the target database is not empty (its counters have moved: a gateway has "
                      "written to it): store copy only fills an empty store");
}

// Appends `v` to a COPY text line: backslash, tab, newline and carriage return escaped.
void append_escaped(std::string& out, const unsigned char* v, int n, const table& t,
                    const column& col, std::int64_t row) {
  for (int i = 0; i < n; ++i) {
    unsigned char ch = v[i];
    switch (ch) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\0':
        throw store_error(fault::corrupt, std::string("table '") + t.name + "', row " +
                                              std::to_string(row) + ": column '" + col.name +
                                              "' holds a NUL byte, which PostgreSQL text cannot; "
                                              "nothing was copied");
      default:
        out += static_cast<char>(ch);
    }
  }
}

const char* sqlite_type_name(int type) {
  switch (type) {
    case SQLITE_INTEGER:
      return "an integer";
    case SQLITE_FLOAT:
      return "a real number";
    case SQLITE_TEXT:
      return "text";
    case SQLITE_BLOB:
      return "a blob";
    default:
      return "NULL";
  }
}

// Copies one table's rows from the source's snapshot with COPY ... FROM STDIN, sending a
// megabyte at a time. Returns the rows sent.
std::int64_t copy_table(source& src, pgs::connection& c, const table& t, std::int64_t total,
                        const copy_options& o) {
  const auto start = clock_type::now();
  std::string sql = "SELECT " + column_list(t) + " FROM " + t.name;
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(src.handle(), sql.c_str(), -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> s(raw, sqlite3_finalize);
  if (rc != SQLITE_OK)
    throw sqlite_error(rc, "reading table '" + std::string(t.name) +
                               "' of the SQLite store: " + sqlite3_errmsg(src.handle()));

  c.copy_begin("COPY " + std::string(t.name) + " (" + column_list(t) + ") FROM STDIN");
  constexpr std::size_t flush_bytes = 1 << 20;
  std::string buf;
  buf.reserve(flush_bytes + 64 * 1024);
  std::int64_t rows = 0;
  char num[32];
  auto report = [&](bool finished) {
    if (o.progress) o.progress({t.name, rows, total, seconds_since(start), finished});
  };
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    ++rows;
    for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
      const column& col = t.columns[static_cast<std::size_t>(i)];
      if (i) buf += '\t';
      int type = sqlite3_column_type(s.get(), i);
      if (type == SQLITE_NULL) {
        buf += "\\N";
        continue;
      }
      if (col.k != kind::text && type != SQLITE_INTEGER)
        throw store_error(fault::corrupt,
                          std::string("table '") + t.name + "', row " + std::to_string(rows) +
                              ": column '" + col.name + "' holds " + sqlite_type_name(type) +
                              " where " +
                              (col.k == kind::boolean ? "a flag (0 or 1)" : "an integer") +
                              " belongs; nothing was copied");
      if (col.k == kind::boolean) {
        buf += sqlite3_column_int64(s.get(), i) != 0 ? 't' : 'f';
      } else if (col.k == kind::integer) {
        auto [end, ec] = std::to_chars(num, num + sizeof num, sqlite3_column_int64(s.get(), i));
        (void)ec;  // 32 characters hold any int64
        buf.append(num, end);
      } else {
        const unsigned char* v = sqlite3_column_text(s.get(), i);
        append_escaped(buf, v, sqlite3_column_bytes(s.get(), i), t, col, rows);
      }
    }
    buf += '\n';
    if (buf.size() >= flush_bytes) {
      c.copy_put(buf);
      buf.clear();
    }
    if (o.batch_rows > 0 && rows % o.batch_rows == 0) report(false);
  }
  if (rc != SQLITE_DONE)
    throw sqlite_error(rc, "reading table '" + std::string(t.name) +
                               "' of the SQLite store: " + sqlite3_errmsg(src.handle()));
  if (!buf.empty()) c.copy_put(buf);
  c.copy_end();
  report(true);
  return rows;
}

// Recomputes the audit chain on the target as `bluelink audit verify` does, through a cursor so
// that a long chain is never held in memory at once; and checks audit_tail against its end.
std::int64_t verify_audit_chain(pgs::connection& c, const copy_options& o, std::string& tail_hash) {
  const auto start = clock_type::now();
  std::int64_t total = c.query("SELECT count(*) FROM audit").int64(0, 0);
  c.exec(
      "DECLARE bl_audit_check NO SCROLL CURSOR FOR"
      " SELECT " +
      std::string(audit_chain_columns) + " FROM audit ORDER BY seq");
  // The checks of `bluelink audit verify` (store/audit_verify.hpp), row by row.
  audit_chain_check chain;
  audit_report rep;
  for (;;) {
    auto r = c.exec("FETCH 10000 FROM bl_audit_check");
    if (r.rows() == 0) break;
    for (int i = 0; i < r.rows(); ++i) {
      if (!chain.next(audit_chain_row_of(r, i), rep))
        throw copy_verification_failed("audit " + rep.problem +
                                       " on the target (`bluelink audit verify` on the source "
                                       "shows whether it was so there already)");
    }
    if (o.progress)
      o.progress(
          {"audit chain (verify)", chain.next_seq() - 1, total, seconds_since(start), false});
  }
  chain.finish(rep);
  if (!rep.ok) throw copy_verification_failed("audit " + rep.problem + " on the target");
  const std::int64_t expect = chain.next_seq();
  const std::string prev = chain.last_hash();
  c.exec("CLOSE bl_audit_check");
  if (o.progress)
    o.progress({"audit chain (verify)", expect - 1, total, seconds_since(start), true});
  auto tail = c.query("SELECT seq, hash FROM audit_tail");
  if (tail.rows() != 1 || tail.int64(0, 0) != expect - 1 || tail.text(0, 1) != prev)
    throw copy_verification_failed(
        "audit_tail on the target does not name the chain's last row: the next audit row would "
        "not chain");
  tail_hash = prev;
  return expect - 1;
}

// Whether another process has the SQLite file open. Every connection to a WAL database holds a
// shared lock on the "DMS" byte of its -shm file (offset 128: SQLite's unix VFS, UNIX_SHM_DMS)
// for as long as it is open, so a gateway shows up here whether or not it is writing at this
// moment. F_GETLK never reports this process's own locks. The descriptor stays open until the
// copy's own connection is closed: closing any descriptor of a file drops every POSIX lock this
// process holds on it, the source connection's included.
class shm_probe {
 public:
  explicit shm_probe(std::string path) : shm_(std::move(path) + "-shm") { open_if_there(); }
  ~shm_probe() {
    if (fd_ >= 0) ::close(fd_);
  }
  shm_probe(const shm_probe&) = delete;
  shm_probe& operator=(const shm_probe&) = delete;

  /// After the copy's own connection created the -shm file.
  void open_if_there() {
    if (fd_ < 0) fd_ = ::open(shm_.c_str(), O_RDONLY | O_CLOEXEC);
  }
  /// The other process's id (-1 when the system does not say), or 0 when none has it open.
  long other_user() const {
    if (fd_ < 0) return 0;  // no -shm: nobody has the file open in WAL mode
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 128;
    fl.l_len = 1;
    if (::fcntl(fd_, F_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) return 0;
    return fl.l_pid > 0 ? fl.l_pid : -1;
  }

 private:
  std::string shm_;
  int fd_ = -1;
};

}  // namespace

copy_summary copy_sqlite_to_postgres(const copy_options& o) {
  const auto start = clock_type::now();
  copy_summary sum;

  // A gateway (or another bluelink command) writing to the file while it is copied would leave
  // its later writes behind: the site's gateway must be stopped first.
  shm_probe probe(o.sqlite_path);
  auto in_use = [&](const char* when) {
    if (long pid = probe.other_user())
      throw store_error(fault::busy,
                        "the SQLite store '" + o.sqlite_path + "' is open in another process" +
                            (pid > 0 ? " (pid " + std::to_string(pid) + ")" : "") + when +
                            ": stop the gateway (and any bluelink command using the "
                            "file) first; nothing was copied");
  };
  in_use("");
  source src(o.sqlite_path);
  probe.open_if_there();
  sum.source_schema = src.version();
  check_source_shape(src);
  for (const auto& d : derived_tables()) sum.notes.emplace_back(d.note);

  pgs::connection c(o.pg_conninfo);
  // Shown in pg_stat_activity, so that a DBA sees what holds the long transaction.
  c.exec("SET application_name = 'bluelink store copy'");
  pgs::migrate(c);
  sum.target_schema = pgs::schema_version(c);
  check_target_shape(c);

  c.exec("BEGIN");
  try {
    // The writers' turn lock (pg_writer::begin takes it too): a gateway that was started on the
    // target by mistake waits until the copy is committed or rolled back, and a second copy
    // waits, then finds the target full and is refused.
    c.exec("SELECT seq FROM audit_tail FOR UPDATE");
    check_target_empty(c);

    for (const auto& t : tables()) {
      const auto table_start = clock_type::now();
      std::int64_t total = src.scalar(std::string("SELECT count(*) FROM ") + t.name);
      std::int64_t sent = copy_table(src, c, t, total, o);
      sum.tables.push_back({t.name, total, sent, seconds_since(table_start)});
      sum.rows += sent;
    }

    for (const auto& [name, sql] : counter_statements()) c.exec(sql);
    for (const auto& t : tables()) {
      if (!t.identity) continue;
      // The next id PostgreSQL hands out follows the largest copied one (setval's is_called).
      c.query(std::string("SELECT setval(pg_get_serial_sequence($1, $2), max(") + t.identity +
                  ") ) FROM " + t.name + " HAVING max(" + t.identity + ") IS NOT NULL",
              {std::string(t.name), std::string(t.identity)});
    }

    // Verification before COMMIT: a copy that does not verify is never committed.
    for (auto& r : sum.tables) {
      r.target_rows = c.query("SELECT count(*) FROM " + r.table).int64(0, 0);
      if (r.target_rows != r.source_rows)
        throw copy_verification_failed("table '" + r.table + "' has " +
                                       std::to_string(r.target_rows) + " rows on the target and " +
                                       std::to_string(r.source_rows) + " in the source");
    }
    sum.audit_rows = verify_audit_chain(c, o, sum.audit_tail_hash);

    in_use(" (it was opened while the copy ran)");
    auto done = c.exec("COMMIT");
    if (done.command_status() != "COMMIT")
      throw store_error(fault::conflict,
                        "PostgreSQL rolled the copy back at COMMIT; the target is empty");
  } catch (...) {
    try {
      if (c.in_transaction()) c.exec("ROLLBACK");
    } catch (...) {
      // The connection is gone: the server rolled the transaction back itself.
    }
    throw;
  }
  sum.seconds = seconds_since(start);
  return sum;
}

}  // namespace bl::store
