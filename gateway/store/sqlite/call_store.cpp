#include "gateway/store/sqlite/call_store.hpp"

#include <sqlite3.h>

#include <filesystem>

#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"

namespace bl::store {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view insert_call_sql =
    "INSERT INTO calls(source, external_id, from_agency, to_agency, started_at, duration_s,"
    " emergency, created_at) VALUES('import', ?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT(external_id) DO NOTHING";

/// Opens the database for an import. A database that is missing or not at the latest schema
/// version is first opened by the store's writer exactly as the gateway does at start (created,
/// checked, WAL, migrated); one already current is only checked to be a Bluelink store, which
/// spares a big file the writer's integrity check. The import then has a connection of its own
/// with the gateway's busy timeout and synchronous level.
std::unique_ptr<db> open_for_writing(const store_options& o) {
  auto connect = [&] {
    auto d = std::make_unique<db>(o.path, false, false);
    d->exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout_ms));
    return d;
  };
  auto pragma = [](db& d, const char* name) {
    stmt s(d, std::string("PRAGMA ") + name);
    return s.step() ? s.int64(0) : 0;
  };
  bool current = false;
  if (fs::exists(o.path)) {
    auto d = connect();
    current = pragma(*d, "user_version") == all_migrations().back().version &&
              pragma(*d, "application_id") == 0x424C4E4B;  // "BLNK", as the writer sets it
  }
  if (!current) {
    sqlite::writer prepare(store_options{o.path, o.synchronous_full, o.busy_timeout_ms, {}});
  }
  auto d = connect();
  d->exec(o.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
  d->exec("PRAGMA foreign_keys = ON");
  d->exec("PRAGMA cache_size = -65536");  // 64 MiB: the indexes a big import inserts into
  return d;
}

bool has_table(db& d, const char* name) {
  stmt s(d, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  s.bind(1, name);
  return s.step();
}

/// A read-only connection for a dry run or the ledger listing; null when there is no database.
std::unique_ptr<db> open_read_only(const store_options& o) {
  if (!fs::exists(o.path)) return nullptr;
  auto d = std::make_unique<db>(o.path, false, true);
  d->exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout_ms));
  return d;
}

/// Writes batches, each in one transaction, with statements prepared once per import. Rows are
/// parsed before a batch begins, so the write lock (which a live gateway sharing the file waits
/// for) is held only while SQLite inserts.
class sqlite_import_writer final : public call_import_writer {
 public:
  explicit sqlite_import_writer(const store_options& o, std::int64_t created_ms)
      : d_(open_for_writing(o)), created_ms_(created_ms) {}
  ~sqlite_import_writer() override {
    if (!sqlite3_get_autocommit(d_->handle()))
      sqlite3_exec(d_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  sqlite_import_writer(const sqlite_import_writer&) = delete;
  sqlite_import_writer& operator=(const sqlite_import_writer&) = delete;

  batch_result insert_calls(const std::vector<imported_call>& calls) override {
    begin_.reset().run();
    auto r = write(calls);
    commit_.reset().run();
    return r;
  }

  std::int64_t finish(
      const std::vector<imported_call>& calls,
      const std::function<import_ledger_entry(const batch_result&)>& ledger) override {
    begin_.reset().run();
    const auto e = ledger(write(calls));
    // The ledger row goes in the last transaction, with the last batch of calls.
    stmt led(*d_,
             "INSERT INTO call_imports(file_name, file_sha256, imported_at, rows, imported,"
             " already_imported, skipped, summary) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)"
             " RETURNING id");
    led.bind(1, e.file_name)
        .bind(2, e.file_sha256)
        .bind(3, e.imported_at_ms)
        .bind(4, e.rows)
        .bind(5, e.imported)
        .bind(6, e.already_imported)
        .bind(7, e.skipped)
        .bind(8, e.summary);
    std::int64_t id = 0;
    if (led.step()) id = led.int64(0);
    led.reset();
    commit_.reset().run();
    return id;
  }

 private:
  batch_result write(const std::vector<imported_call>& calls) {
    batch_result r;
    for (const auto& c : calls) {
      insert_.reset()
          .bind(1, c.external_id)
          .bind(2, c.from_agency)
          .bind(3, c.to_agency)
          .bind(4, c.started_ms)
          .bind(5, c.duration_s)
          .bind(6, c.emergency ? 1 : 0)
          .bind(7, created_ms_);
      insert_.run();
      if (d_->changes() == 1)
        ++r.inserted;
      else
        ++r.already_stored;
    }
    return r;
  }

  std::unique_ptr<db> d_;
  std::int64_t created_ms_;
  stmt begin_{*d_, "BEGIN IMMEDIATE"};
  stmt commit_{*d_, "COMMIT"};
  stmt insert_{*d_, insert_call_sql};
};

class sqlite_call_store final : public call_store {
 public:
  explicit sqlite_call_store(const store_options& o) : o_(o) {}

  std::unique_ptr<call_import_writer> begin_import(std::int64_t now_ms) override {
    return std::make_unique<sqlite_import_writer>(o_, now_ms);
  }

  bool call_stored(const std::string& external_id) override {
    if (!looked_) {
      looked_ = true;
      ro_ = open_read_only(o_);
      if (ro_ && has_table(*ro_, "calls"))
        exists_ = std::make_unique<stmt>(*ro_, "SELECT 1 FROM calls WHERE external_id = ?1");
    }
    if (!exists_) return false;
    exists_->reset().bind(1, external_id);
    const bool found = exists_->step();
    exists_->reset();
    return found;
  }

  std::vector<import_record> list_imports() override {
    std::vector<import_record> out;
    auto conn = open_read_only(o_);
    if (!conn || !has_table(*conn, "call_imports")) return out;
    stmt s(*conn,
           "SELECT id, file_name, file_sha256, imported_at, rows, imported, already_imported,"
           " skipped, summary FROM call_imports ORDER BY id");
    while (s.step()) {
      import_record r;
      r.id = s.int64(0);
      r.entry.file_name = s.text(1);
      r.entry.file_sha256 = s.text(2);
      r.entry.imported_at_ms = s.int64(3);
      r.entry.rows = s.int64(4);
      r.entry.imported = s.int64(5);
      r.entry.already_imported = s.int64(6);
      r.entry.skipped = s.int64(7);
      r.entry.summary = s.text(8);
      out.push_back(std::move(r));
    }
    return out;
  }

 private:
  store_options o_;
  // A dry run's look-ups: one read-only connection and statement, opened at the first.
  bool looked_ = false;
  std::unique_ptr<db> ro_;
  std::unique_ptr<stmt> exists_;  // declared after ro_: finalized before it closes
};

}  // namespace

std::unique_ptr<call_store> open_sqlite_call_store(const store_options& o) {
  return std::make_unique<sqlite_call_store>(o);
}

}  // namespace bl::store
