#include "gateway/store/sqlite/migrations.hpp"

#include <sqlite3.h>

#include "gateway/store/sqlite/sqlite.hpp"

namespace bl::store {

namespace {
constexpr std::string_view v1 = R"sql(
CREATE TABLE messages(
  id          TEXT PRIMARY KEY,
  type        TEXT NOT NULL,
  from_agency TEXT NOT NULL,
  to_agency   TEXT,
  transfer_id TEXT,
  version     INTEGER,
  mode        TEXT NOT NULL,
  sent_at     INTEGER,
  stored_at   INTEGER NOT NULL,
  doc         TEXT NOT NULL,
  receipt     TEXT
);
CREATE INDEX messages_by_transfer ON messages(transfer_id, stored_at);

CREATE TABLE transfers(
  id                 TEXT PRIMARY KEY,
  state              TEXT NOT NULL,
  version            INTEGER NOT NULL,
  category           TEXT NOT NULL,
  priority           TEXT NOT NULL,
  mode               TEXT NOT NULL,
  requester          TEXT NOT NULL,
  responder          TEXT NOT NULL,
  request_message_id TEXT NOT NULL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  expires_at         INTEGER NOT NULL,
  delivery_due       INTEGER NOT NULL,
  decision_due       INTEGER NOT NULL,
  delivery_alerted   INTEGER NOT NULL DEFAULT 0,
  decision_alerted   INTEGER NOT NULL DEFAULT 0,
  next_due           INTEGER
);
CREATE INDEX transfers_due ON transfers(next_due) WHERE next_due IS NOT NULL;
CREATE INDEX transfers_by_requester ON transfers(requester, updated_at);
CREATE INDEX transfers_by_responder ON transfers(responder, updated_at);

CREATE TABLE incident_numbers(
  transfer_id TEXT NOT NULL,
  agency      TEXT NOT NULL,
  number      TEXT NOT NULL,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY(transfer_id, agency)
) WITHOUT ROWID;
CREATE INDEX incident_numbers_lookup ON incident_numbers(agency, number);

CREATE TABLE transfer_events(
  id          INTEGER PRIMARY KEY,
  transfer_id TEXT NOT NULL,
  at          INTEGER NOT NULL,
  kind        TEXT NOT NULL,
  actor       TEXT NOT NULL,
  message_id  TEXT,
  from_state  TEXT,
  to_state    TEXT,
  version     INTEGER,
  detail      TEXT
);
CREATE INDEX transfer_events_by_transfer ON transfer_events(transfer_id, id);

CREATE TABLE deliveries(
  agency      TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  message_id  TEXT NOT NULL,
  transfer_id TEXT,
  type        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  acked_at    INTEGER,
  PRIMARY KEY(agency, seq)
) WITHOUT ROWID;

CREATE TABLE endpoints(
  agency     TEXT PRIMARY KEY,
  acked_upto INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE audit(
  seq         INTEGER PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,
  action      TEXT NOT NULL,
  message_id  TEXT,
  transfer_id TEXT,
  detail      TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL
);
CREATE INDEX audit_by_transfer ON audit(transfer_id) WHERE transfer_id IS NOT NULL;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TABLE settings(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Console accounts and sessions (issue 4) and the phone-call log (issues 4 and 5).
constexpr std::string_view v2 = R"sql(
CREATE TABLE users(
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK(role IN ('operator', 'supervisor', 'manager', 'admin')),
  agency        TEXT,
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  CHECK((role IN ('operator', 'supervisor')) = (agency IS NOT NULL))
);

-- Only a SHA-256 of the session token is kept: a copy of the database gives no live sessions.
CREATE TABLE sessions(
  token_sha256 TEXT PRIMARY KEY,
  user_id      INTEGER NOT NULL REFERENCES users(id),
  csrf_token   TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  last_seen    INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  ended_at     INTEGER,
  remote       TEXT
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions(user_id);

-- One phone call between two control rooms. direction is always from_agency -> to_agency.
-- external_id makes imports idempotent (a hash of the source row); NULL for console/API calls.
CREATE TABLE calls(
  id          INTEGER PRIMARY KEY,
  source      TEXT NOT NULL CHECK(source IN ('console', 'api', 'import')),
  external_id TEXT UNIQUE,
  from_agency TEXT NOT NULL,
  to_agency   TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  duration_s  INTEGER,
  emergency   INTEGER NOT NULL DEFAULT 0,
  category    TEXT,
  reason      TEXT,
  transfer_id TEXT,
  logged_by   TEXT,
  exercise    INTEGER NOT NULL DEFAULT 0,
  note        TEXT,
  created_at  INTEGER NOT NULL
);
CREATE INDEX calls_by_time ON calls(started_at);
CREATE INDEX calls_by_transfer ON calls(transfer_id) WHERE transfer_id IS NOT NULL;
)sql";

// The ledger of telephony call-record imports (`bluelink calls import`, issue 5): one row per
// import that wrote to the database, summary = JSON {"skipped kind": count}. calls.category was
// never written or read: a call's category is its reason.
constexpr std::string_view v3 = R"sql(
CREATE TABLE call_imports(
  id               INTEGER PRIMARY KEY,
  file_name        TEXT NOT NULL,
  file_sha256      TEXT NOT NULL,
  imported_at      INTEGER NOT NULL,
  rows             INTEGER NOT NULL,
  imported         INTEGER NOT NULL,
  already_imported INTEGER NOT NULL,
  skipped          INTEGER NOT NULL,
  summary          TEXT NOT NULL
);
ALTER TABLE calls DROP COLUMN category;
)sql";

// Covering indexes for the savings report (issue 5): it reads a month of calls or transfers as
// one range scan of an index that holds every column it needs, without touching the tables.
constexpr std::string_view v4 = R"sql(
CREATE INDEX calls_report ON calls(started_at, source, exercise, from_agency, to_agency,
                                   emergency, reason);
CREATE INDEX calls_linked ON calls(transfer_id, exercise) WHERE transfer_id IS NOT NULL;
CREATE INDEX transfers_report ON transfers(created_at, mode, state, priority, category, requester,
                                           responder);
)sql";

// Claims on phone prompts (issue 14): "I'm calling them", so the rest of the room does not phone
// too. The first claim on a prompt stands; the primary key makes a second one impossible.
constexpr std::string_view v5 = R"sql(
CREATE TABLE phone_claims (
  transfer_id  TEXT NOT NULL REFERENCES transfers(id),
  agency       TEXT NOT NULL,
  prompt       TEXT NOT NULL,
  username     TEXT NOT NULL,
  display_name TEXT NOT NULL,
  counterpart  TEXT NOT NULL,
  claimed_at   INTEGER NOT NULL,
  PRIMARY KEY (transfer_id, agency, prompt)
) WITHOUT ROWID;
)sql";

// Pages whose cost is the page, not the history (issue 15). The lists of transfers and calls
// read two index ranges in page order, one per party column, each stopped by the page's LIMIT
// (gateway/store/sqlite/reader_sql.hpp): one index per party, and one per party and state for the
// state filter, each ending with the sort key's tie-break (id) and the columns the other filters
// and the second arm's "not also the requester" check read, so that those are checked in the
// index before a row is read. They replace migration 1's (requester, updated_at) and
// (responder, updated_at), which sorted every transfer of the agency. The /metrics count of
// transfers per state is kept by triggers instead of counted over every transfer at each scrape.
constexpr std::string_view v6 = R"sql(
DROP INDEX transfers_by_requester;
DROP INDEX transfers_by_responder;
CREATE INDEX transfers_page_requester ON transfers(requester, updated_at, id, category);
CREATE INDEX transfers_page_responder ON transfers(responder, updated_at, id, category, requester);
CREATE INDEX transfers_page_requester_state ON transfers(requester, state, updated_at, id,
                                                         category);
CREATE INDEX transfers_page_responder_state ON transfers(responder, state, updated_at, id,
                                                         category, requester);
CREATE INDEX calls_page_caller ON calls(from_agency, started_at);
CREATE INDEX calls_page_callee ON calls(to_agency, started_at);

CREATE TABLE transfer_state_counts(
  state TEXT PRIMARY KEY,
  n     INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO transfer_state_counts(state, n) SELECT state, COUNT(*) FROM transfers GROUP BY state;
CREATE TRIGGER transfer_state_counts_insert AFTER INSERT ON transfers BEGIN
  INSERT INTO transfer_state_counts(state, n) VALUES(NEW.state, 1)
    ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER transfer_state_counts_update AFTER UPDATE OF state ON transfers
  WHEN OLD.state IS NOT NEW.state BEGIN
  UPDATE transfer_state_counts SET n = n - 1 WHERE state = OLD.state;
  INSERT INTO transfer_state_counts(state, n) VALUES(NEW.state, 1)
    ON CONFLICT(state) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER transfer_state_counts_delete AFTER DELETE ON transfers BEGIN
  UPDATE transfer_state_counts SET n = n - 1 WHERE state = OLD.state;
END;
)sql";

// Each partner document as received, with the message it became (issue 17): what an operator or
// a data-protection officer is shown as "Original document", and what tells a repeated message id
// from one reused for other content. A rowid table: the bodies are kilobytes.
constexpr std::string_view v7 = R"sql(
CREATE TABLE originals(
  message_id  TEXT PRIMARY KEY,
  standard    TEXT NOT NULL,
  media_type  TEXT NOT NULL,
  body        TEXT NOT NULL,
  digest      TEXT,
  answer      TEXT,
  received_at INTEGER NOT NULL
);
)sql";

// The personal-data access log (issue 18, DPA 2018 s.62): one row per audit row of action
// access.*, with the same seq (gateway/store/access_log.hpp). Append-only like the audit log.
constexpr std::string_view v8 = R"sql(
CREATE TABLE access_log(
  seq           INTEGER PRIMARY KEY,
  at            INTEGER NOT NULL,
  operation     TEXT NOT NULL,
  agency        TEXT NOT NULL,
  actor         TEXT NOT NULL,
  actor_kind    TEXT NOT NULL,
  channel       TEXT NOT NULL,
  object        TEXT NOT NULL,
  transfer_id   TEXT NOT NULL,
  ref           TEXT NOT NULL,
  recipients    TEXT NOT NULL,
  justification TEXT NOT NULL
);
CREATE INDEX access_by_transfer ON access_log(transfer_id, seq) WHERE transfer_id <> '';
CREATE INDEX access_by_actor ON access_log(actor, seq);
CREATE INDEX access_by_agency ON access_log(agency, seq);
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
  BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
  BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
)sql";

// Retention (issue 18): a transfer or call whose personal content was purged keeps its row as a
// tombstone (purged_at set), so every count and figure stays. Legal holds stop a transfer's purge.
// The audit chain hashes a new row's detail through its SHA-256 (detail_sha256), so that the
// detail can be erased (emptied, erased_by naming the purge's own audit row) and the chain still
// verifies; the update trigger allows exactly that and nothing else. Rows written before this
// migration have no detail_sha256 and stay as they are.
constexpr std::string_view v9 = R"sql(
ALTER TABLE transfers ADD COLUMN purged_at INTEGER;
CREATE INDEX transfers_purge ON transfers(updated_at, id) WHERE purged_at IS NULL;
ALTER TABLE calls ADD COLUMN purged_at INTEGER;
CREATE INDEX calls_purge ON calls(started_at, id) WHERE purged_at IS NULL;

CREATE TABLE legal_holds(
  id          INTEGER PRIMARY KEY,
  transfer_id TEXT NOT NULL REFERENCES transfers(id),
  agency      TEXT NOT NULL,
  placed_by   TEXT NOT NULL,
  placed_at   INTEGER NOT NULL,
  reason      TEXT NOT NULL,
  lifted_by   TEXT,
  lifted_at   INTEGER,
  lift_reason TEXT
);
CREATE UNIQUE INDEX legal_holds_current ON legal_holds(transfer_id) WHERE lifted_at IS NULL;

ALTER TABLE audit ADD COLUMN detail_sha256 TEXT;
ALTER TABLE audit ADD COLUMN erased_by INTEGER;
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  WHEN NOT (OLD.detail_sha256 IS NOT NULL AND OLD.erased_by IS NULL AND NEW.erased_by > OLD.seq
            AND NEW.detail = '' AND NEW.seq = OLD.seq AND NEW.at = OLD.at
            AND NEW.actor = OLD.actor AND NEW.action = OLD.action
            AND NEW.message_id IS OLD.message_id AND NEW.transfer_id IS OLD.transfer_id
            AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
            AND NEW.detail_sha256 = OLD.detail_sha256)
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only (only a purge may erase a detail)'); END;
)sql";

// The data-protection officer's role (issue 18): SQLite changes a CHECK by rebuilding the table
// (its documented way); migrate() runs with foreign keys off and checks them after each step.
constexpr std::string_view v10 = R"sql(
CREATE TABLE users_v10(
  id            INTEGER PRIMARY KEY,
  username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
  display_name  TEXT NOT NULL,
  role          TEXT NOT NULL CHECK(role IN ('operator', 'supervisor', 'manager', 'admin', 'dpo')),
  agency        TEXT,
  password_hash TEXT NOT NULL,
  disabled      INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  CHECK((role IN ('operator', 'supervisor', 'dpo')) = (agency IS NOT NULL))
);
INSERT INTO users_v10(id, username, display_name, role, agency, password_hash, disabled,
                      created_at, updated_at)
  SELECT id, username, display_name, role, agency, password_hash, disabled, created_at, updated_at
  FROM users;
DROP TABLE users;
ALTER TABLE users_v10 RENAME TO users;
)sql";

const std::vector<migration> list = {
    {1, "messages, transfers, incident numbers, timeline, delivery queues, audit, settings", v1},
    {2, "console users and sessions, phone-call log", v2},
    {3, "ledger of telephony call-record imports; calls.category dropped", v3},
    {4, "covering indexes for the savings report", v4},
    {5, "claims on phone prompts", v5},
    {6,
     "indexes that read lists of transfers and calls a page at a time; transfers per state kept by "
     "triggers",
     v6},
    {7, "partner documents kept as received (originals)", v7},
    {8, "the personal-data access log (access_log, DPA 2018 s.62)", v8},
    {9, "retention: tombstones (purged_at), legal holds, erasable audit details", v9},
    {10, "the data-protection officer's role (users.role 'dpo', of one agency)", v10, "sessions"},
};

int user_version(db& d) {
  stmt s(d, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.int64(0)) : 0;
}
}  // namespace

const std::vector<migration>& all_migrations() {
  return list;
}

void migrate(db& d) {
  int current = user_version(d);
  int latest = list.back().version;
  if (current > latest)
    throw sqlite_error(SQLITE_MISMATCH, "database schema version " + std::to_string(current) +
                                            " is newer than this gateway understands (" +
                                            std::to_string(latest) + "); upgrade the gateway");
  for (const auto& m : list) {
    if (m.version <= current) continue;
    d.exec("BEGIN IMMEDIATE");
    try {
      d.exec(m.sql);
      // A step that rebuilds a table (v10) must leave every reference to it whole.
      if (!m.check_references.empty()) {
        stmt fk(d, "PRAGMA foreign_key_check(" + std::string(m.check_references) + ")");
        if (fk.step())
          throw sqlite_error(SQLITE_CONSTRAINT_FOREIGNKEY,
                             "migration " + std::to_string(m.version) + " left a row of '" +
                                 fk.text(0) + "' referring to a missing row of '" + fk.text(2) +
                                 "'");
      }
      d.exec("PRAGMA user_version = " + std::to_string(m.version));
      d.exec("COMMIT");
    } catch (...) {
      d.exec("ROLLBACK");
      throw;
    }
  }
}

}  // namespace bl::store
