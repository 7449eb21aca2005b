#include "gateway/store/postgres/pg_call_store.hpp"

#include <algorithm>

#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"

namespace bl::store::postgres {

namespace {

// One statement inserts at most this many calls (the batch's arrays travel as parameters), so
// a caller's batch of any size costs the server and the client bounded memory per statement.
constexpr std::size_t rows_per_statement = 5000;

// The whole chunk in one round trip: each column as an array, unnested in order. ON CONFLICT DO
// NOTHING leaves a call whose external id is already stored (by an earlier import, or earlier
// in this chunk) as it is, exactly as the SQLite store's row-by-row ON CONFLICT does; the rows
// it did insert are the statement's count.
constexpr const char* insert_calls_sql =
    "INSERT INTO calls(source, external_id, from_agency, to_agency, started_at, duration_s,"
    " emergency, created_at)"
    " SELECT 'import', e, f, t, s, d, em, $7::bigint"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[],"
    " $6::boolean[]) AS u(e, f, t, s, d, em)"
    " ON CONFLICT (external_id) DO NOTHING";

/// A PostgreSQL array literal of text elements: each element double-quoted, with " and \ escaped.
class array_literal {
 public:
  void text(const std::string& v) {
    sep();
    s_ += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') s_ += '\\';
      s_ += ch;
    }
    s_ += '"';
  }
  void number(std::int64_t v) {
    sep();
    s_ += std::to_string(v);
  }
  void flag(bool v) {
    sep();
    s_ += v ? 't' : 'f';
  }
  std::string done() { return s_ + '}'; }

 private:
  void sep() {
    if (s_.size() > 1) s_ += ',';
  }
  std::string s_ = "{";
};

/// Writes batches, each in one transaction, on a connection of the import's own.
class pg_import_writer final : public call_import_writer {
 public:
  pg_import_writer(const std::string& conninfo, std::int64_t created_ms)
      : c_(conninfo), created_ms_(created_ms) {
    // Created or brought up to date exactly as the gateway does at start; a foreign or newer
    // database is refused (fault::corrupt) before anything is written.
    migrate(c_);
    // A committed batch is on disk when COMMIT returns, whatever the server's default: the
    // summary's counts promise that the calls are stored.
    auto r = c_.query("SHOW synchronous_commit");
    if (r.rows() == 1 && r.text(0, 0) == "off") c_.exec("SET synchronous_commit = on");
  }
  ~pg_import_writer() override {
    // Destroyed with a batch half-written (after an exception): that batch is undone.
    try {
      if (c_.in_transaction()) c_.exec("ROLLBACK");
    } catch (...) {
      // The connection is gone: the server has rolled back.
    }
  }
  pg_import_writer(const pg_import_writer&) = delete;
  pg_import_writer& operator=(const pg_import_writer&) = delete;

  batch_result insert_calls(const std::vector<imported_call>& calls) override {
    c_.exec("BEGIN");
    auto r = write(calls);
    commit();
    return r;
  }

  std::int64_t finish(
      const std::vector<imported_call>& calls,
      const std::function<import_ledger_entry(const batch_result&)>& ledger) override {
    c_.exec("BEGIN");
    const auto e = ledger(write(calls));
    // The ledger row goes in the last transaction, with the last batch of calls.
    auto r = c_.prepared(
        "INSERT INTO call_imports(file_name, file_sha256, imported_at, rows, imported,"
        " already_imported, skipped, summary) VALUES($1, $2, $3, $4, $5, $6, $7, $8)"
        " RETURNING id",
        {p(e.file_name), p(e.file_sha256), p(e.imported_at_ms), p(e.rows), p(e.imported),
         p(e.already_imported), p(e.skipped), p(e.summary)});
    const std::int64_t id = r.rows() == 1 ? r.int64(0, 0) : 0;
    commit();
    return id;
  }

 private:
  batch_result write(const std::vector<imported_call>& calls) {
    batch_result out;
    for (std::size_t at = 0; at < calls.size(); at += rows_per_statement) {
      const std::size_t end = std::min(calls.size(), at + rows_per_statement);
      array_literal ids, from, to, started, duration, emergency;
      for (std::size_t i = at; i < end; ++i) {
        const auto& c = calls[i];
        ids.text(c.external_id);
        from.text(c.from_agency);
        to.text(c.to_agency);
        started.number(c.started_ms);
        duration.number(c.duration_s);
        emergency.flag(c.emergency);
      }
      auto r = c_.prepared(insert_calls_sql, {ids.done(), from.done(), to.done(), started.done(),
                                              duration.done(), emergency.done(), p(created_ms_)});
      const auto inserted = static_cast<std::size_t>(r.affected());
      out.inserted += inserted;
      out.already_stored += (end - at) - inserted;
    }
    return out;
  }

  void commit() {
    // COMMIT of a transaction that had already failed answers ROLLBACK, not an error.
    if (c_.exec("COMMIT").command_status() != "COMMIT")
      throw store_error(fault::conflict,
                        "PostgreSQL rolled the import's batch back at COMMIT: none of its calls "
                        "were stored");
  }

  connection c_;
  std::int64_t created_ms_;
};

class pg_call_store final : public call_store {
 public:
  explicit pg_call_store(std::string conninfo) : conninfo_(std::move(conninfo)) {}

  std::unique_ptr<call_import_writer> begin_import(std::int64_t now_ms) override {
    return std::make_unique<pg_import_writer>(conninfo_, now_ms);
  }

  bool call_stored(const std::string& external_id) override {
    if (!looked_) {
      ro_ = std::make_unique<connection>(conninfo_);
      // A database the gateway has not set up yet holds no calls: a dry run creates nothing.
      has_calls_ = has_table(*ro_, "calls");
      looked_ = true;
    }
    if (!has_calls_) return false;
    ro_->reconnect_if_broken();
    return ro_->prepared("SELECT 1 FROM calls WHERE external_id = $1", {p(external_id)}).rows() > 0;
  }

  std::vector<import_record> list_imports() override {
    std::vector<import_record> out;
    connection c(conninfo_);
    if (!has_table(c, "call_imports")) return out;
    auto r = c.query(
        "SELECT id, file_name, file_sha256, imported_at, rows, imported, already_imported,"
        " skipped, summary FROM call_imports ORDER BY id");
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      import_record rec;
      rec.id = r.int64(i, 0);
      rec.entry.file_name = r.text(i, 1);
      rec.entry.file_sha256 = r.text(i, 2);
      rec.entry.imported_at_ms = r.int64(i, 3);
      rec.entry.rows = r.int64(i, 4);
      rec.entry.imported = r.int64(i, 5);
      rec.entry.already_imported = r.int64(i, 6);
      rec.entry.skipped = r.int64(i, 7);
      rec.entry.summary = r.text(i, 8);
      out.push_back(std::move(rec));
    }
    return out;
  }

 private:
  // Whether the Bluelink table exists in the connection's schema (a database not yet migrated
  // has none). The schema's own marker is not checked here: only reading, nothing is adopted.
  static bool has_table(connection& c, const char* name) {
    return c.query("SELECT to_regclass($1) IS NOT NULL", {p(name)}).boolean(0, 0);
  }

  std::string conninfo_;
  // A dry run's look-ups: one connection, made at the first.
  bool looked_ = false;
  bool has_calls_ = false;
  std::unique_ptr<connection> ro_;
};

}  // namespace

std::unique_ptr<call_store> open_pg_call_store(const std::string& conninfo) {
  return std::make_unique<pg_call_store>(conninfo);
}

}  // namespace bl::store::postgres
