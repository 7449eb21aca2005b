#include "gateway/store/sqlite/bulk_load.hpp"

#include <sqlite3.h>

#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"

namespace bl::store {

bulk_loader::bulk_loader(const std::string& path) {
  { sqlite::writer create(store_options{path, false, 5000, {}}); }
  d_ = std::make_unique<db>(path, false, false);
  d_->exec("PRAGMA synchronous = OFF");
  d_->exec("PRAGMA cache_size = -262144");
  transfer_ =
      std::make_unique<stmt>(*d_,
                             "INSERT INTO transfers(id, state, version, category, priority, mode,"
                             " requester, responder, request_message_id, created_at, updated_at,"
                             " expires_at, delivery_due, decision_due) VALUES(?1, ?2, 3, ?3, ?4,"
                             " ?5, ?6, ?7, ?1, ?8, ?8, ?8, ?8, ?8)");
  call_ = std::make_unique<stmt>(
      *d_,
      "INSERT INTO calls(source, from_agency, to_agency, started_at,"
      " duration_s, emergency, reason, transfer_id, logged_by, exercise,"
      " created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'bench', ?9, ?4)");
  d_->exec("BEGIN");
}

bulk_loader::~bulk_loader() {
  transfer_.reset();
  call_.reset();
  if (d_ && !sqlite3_get_autocommit(d_->handle()))
    sqlite3_exec(d_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void bulk_loader::add(const bulk_transfer& t) {
  transfer_->reset()
      .bind(1, t.id)
      .bind(2, t.state)
      .bind(3, t.category)
      .bind(4, t.priority)
      .bind(5, t.mode)
      .bind(6, t.requester)
      .bind(7, t.responder)
      .bind(8, t.created_ms)
      .run();
}

void bulk_loader::add(const bulk_call& c) {
  call_->reset()
      .bind(1, c.source)
      .bind(2, c.from_agency)
      .bind(3, c.to_agency)
      .bind(4, c.started_ms)
      .bind(5, c.duration_s)
      .bind(6, c.emergency ? 1 : 0)
      .bind(7, c.reason)
      .bind(8, c.transfer_id)
      .bind(9, c.exercise ? 1 : 0)
      .run();
}

void bulk_loader::finish() {
  transfer_.reset();
  call_.reset();
  d_->exec("COMMIT");
  d_->exec("ANALYZE");
  d_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

bulk_counts count_bulk_rows(const std::string& path) {
  db d(path, false, true);
  auto count = [&](const char* sql) {
    stmt s(d, sql);
    s.step();
    return s.int64(0);
  };
  bulk_counts g;
  g.calls = count("SELECT count(*) FROM calls");
  g.exercise_calls = count("SELECT count(*) FROM calls WHERE exercise = 1");
  g.linked_calls = count("SELECT count(*) FROM calls WHERE transfer_id IS NOT NULL");
  g.transfers = count("SELECT count(*) FROM transfers");
  g.non_live_transfers = count("SELECT count(*) FROM transfers WHERE mode <> 'live'");
  return g;
}

}  // namespace bl::store
