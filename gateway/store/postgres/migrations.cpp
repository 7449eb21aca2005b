#include "gateway/store/postgres/migrations.hpp"

#include "gateway/store/postgres/pg.hpp"

namespace bl::store::postgres {

namespace {

// Version 1: the SQLite schema at its version 5 (gateway/store/sqlite/migrations.cpp), in
// PostgreSQL types. Times stay integer epoch milliseconds (bigint) as in SQLite, so that both
// engines share their struct conversions; flags are boolean; documents stay text (byte for byte
// what was received and signed, which jsonb would not keep).
//
// What removes the single-writer assumption of the SQLite engine, whose writer keeps counters in
// memory: every counter is a row, updated inside the committing transaction (INSERT ... ON
// CONFLICT DO UPDATE ... RETURNING), so that its row lock hands out numbers gap-free and in
// commit order whichever gateway node commits:
//   agency_seq          each agency's delivery sequence number
//   transfer_day_seq    the per-day counter of transfer ids (T-YYYYMMDD-NNNNNN)
//   audit_tail          the audit chain's last seq and hash: one row, locked FOR UPDATE by each
//                       append, so appends are serialised in the database
//   bluelink_counters   the timeline's event ids (commit order, so a reader that follows the
//                       timeline by id misses nothing)
// Dedupe is the messages primary key: it lasts as long as the data.
constexpr std::string_view v1 = R"sql(
CREATE TABLE messages(
  id          text PRIMARY KEY,
  type        text NOT NULL,
  from_agency text NOT NULL,
  to_agency   text,
  transfer_id text,
  version     bigint,
  mode        text NOT NULL,
  sent_at     bigint,
  stored_at   bigint NOT NULL,
  doc         text NOT NULL,
  receipt     text
);
CREATE INDEX messages_by_transfer ON messages(transfer_id, stored_at);

CREATE TABLE transfers(
  id                 text PRIMARY KEY,
  state              text NOT NULL,
  version            bigint NOT NULL,
  category           text NOT NULL,
  priority           text NOT NULL,
  mode               text NOT NULL,
  requester          text NOT NULL,
  responder          text NOT NULL,
  request_message_id text NOT NULL,
  created_at         bigint NOT NULL,
  updated_at         bigint NOT NULL,
  expires_at         bigint NOT NULL,
  delivery_due       bigint NOT NULL,
  decision_due       bigint NOT NULL,
  delivery_alerted   boolean NOT NULL DEFAULT false,
  decision_alerted   boolean NOT NULL DEFAULT false,
  next_due           bigint
);
CREATE INDEX transfers_due ON transfers(next_due) WHERE next_due IS NOT NULL;
CREATE INDEX transfers_by_requester ON transfers(requester, updated_at);
CREATE INDEX transfers_by_responder ON transfers(responder, updated_at);
CREATE INDEX transfers_report ON transfers(created_at, mode, state, priority, category, requester,
                                           responder);

CREATE TABLE incident_numbers(
  transfer_id text NOT NULL,
  agency      text NOT NULL,
  number      text NOT NULL,
  recorded_at bigint NOT NULL,
  PRIMARY KEY(transfer_id, agency)
);
CREATE INDEX incident_numbers_lookup ON incident_numbers(agency, number);

CREATE TABLE transfer_events(
  id          bigint PRIMARY KEY,
  transfer_id text NOT NULL,
  at          bigint NOT NULL,
  kind        text NOT NULL,
  actor       text NOT NULL,
  message_id  text,
  from_state  text,
  to_state    text,
  version     bigint,
  detail      text
);
CREATE INDEX transfer_events_by_transfer ON transfer_events(transfer_id, id);

CREATE TABLE deliveries(
  agency      text NOT NULL,
  seq         bigint NOT NULL,
  message_id  text NOT NULL,
  transfer_id text,
  type        text NOT NULL,
  created_at  bigint NOT NULL,
  acked_at    bigint,
  PRIMARY KEY(agency, seq)
);

CREATE TABLE agency_seq(
  agency   text PRIMARY KEY,
  last_seq bigint NOT NULL
);

CREATE TABLE endpoints(
  agency     text PRIMARY KEY,
  acked_upto bigint NOT NULL DEFAULT 0
);

CREATE TABLE transfer_day_seq(
  day     text PRIMARY KEY,  -- YYYYMMDD (UTC)
  last_no bigint NOT NULL
);

CREATE TABLE bluelink_counters(
  name  text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO bluelink_counters(name, value) VALUES ('transfer_events', 0);

CREATE TABLE audit(
  seq         bigint PRIMARY KEY,
  at          bigint NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  message_id  text,
  transfer_id text,
  detail      text NOT NULL,
  prev_hash   text NOT NULL,
  hash        text NOT NULL
);
CREATE INDEX audit_by_transfer ON audit(transfer_id) WHERE transfer_id IS NOT NULL;
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

CREATE TABLE audit_tail(
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  seq      bigint NOT NULL,
  hash     text NOT NULL
);
INSERT INTO audit_tail(seq, hash) VALUES (0, repeat('0', 64));

CREATE TABLE settings(
  key   text PRIMARY KEY,
  value text NOT NULL
);

CREATE TABLE users(
  id            bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  username      text NOT NULL,
  display_name  text NOT NULL,
  role          text NOT NULL CHECK(role IN ('operator', 'supervisor', 'manager', 'admin')),
  agency        text,
  password_hash text NOT NULL,
  disabled      boolean NOT NULL DEFAULT false,
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  CHECK((role IN ('operator', 'supervisor')) = (agency IS NOT NULL))
);
-- SQLite's UNIQUE COLLATE NOCASE: one account per name whatever its case.
CREATE UNIQUE INDEX users_username ON users(lower(username));

-- Only a SHA-256 of the session token is kept: a copy of the database gives no live sessions.
CREATE TABLE sessions(
  token_sha256 text PRIMARY KEY,
  user_id      bigint NOT NULL REFERENCES users(id),
  csrf_token   text NOT NULL,
  created_at   bigint NOT NULL,
  last_seen    bigint NOT NULL,
  expires_at   bigint NOT NULL,
  ended_at     bigint,
  remote       text
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- One phone call between two control rooms. direction is always from_agency -> to_agency.
-- external_id makes imports idempotent (a hash of the source row); NULL for console/API calls.
CREATE TABLE calls(
  id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  source      text NOT NULL CHECK(source IN ('console', 'api', 'import')),
  external_id text UNIQUE,
  from_agency text NOT NULL,
  to_agency   text NOT NULL,
  started_at  bigint NOT NULL,
  duration_s  bigint,
  emergency   boolean NOT NULL DEFAULT false,
  reason      text,
  transfer_id text,
  logged_by   text,
  exercise    boolean NOT NULL DEFAULT false,
  note        text,
  created_at  bigint NOT NULL
);
CREATE INDEX calls_by_time ON calls(started_at);
CREATE INDEX calls_by_transfer ON calls(transfer_id) WHERE transfer_id IS NOT NULL;
-- The savings report's covering indexes: a month as one range scan, the tables untouched.
CREATE INDEX calls_report ON calls(started_at, source, exercise, from_agency, to_agency,
                                   emergency, reason);
CREATE INDEX calls_linked ON calls(transfer_id, exercise) WHERE transfer_id IS NOT NULL;

CREATE TABLE call_imports(
  id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  file_name        text NOT NULL,
  file_sha256      text NOT NULL,
  imported_at      bigint NOT NULL,
  rows             bigint NOT NULL,
  imported         bigint NOT NULL,
  already_imported bigint NOT NULL,
  skipped          bigint NOT NULL,
  summary          text NOT NULL
);

-- The first claim on a prompt stands; the primary key makes a second one impossible.
CREATE TABLE phone_claims(
  transfer_id  text NOT NULL REFERENCES transfers(id),
  agency       text NOT NULL,
  prompt       text NOT NULL,
  username     text NOT NULL,
  display_name text NOT NULL,
  counterpart  text NOT NULL,
  claimed_at   bigint NOT NULL,
  PRIMARY KEY(transfer_id, agency, prompt)
);
)sql";

// Version 2: every page an operator or a CAD waits on costs the page, not the history (issue 15),
// as the SQLite engine's migration 6 does (docs/architecture.md). The reader's queries
// (gateway/store/postgres/pg_reader_sql.hpp) walk these indexes in page order, each stopped by
// its LIMIT; tests/component/pg_reader_test.cpp checks the plans.
//
// - The transfer list is a UNION ALL of two index ranges (the agency as requester, and as
//   responder but not requester), each in (updated_at, id) order; with the state filter its own
//   pair of indexes; the category is a key column so that it is checked in the index. The id is
//   ordered COLLATE "C" (byte order, SQLite's BINARY), whatever the database's locale, so that
//   both engines give the same ties in the same order; the reader's ORDER BY says the same.
//   These replace version 1's (party, updated_at) indexes, whose leading columns they repeat.
// - The call list: the same two ranges over calls (by id among calls started together).
// - messages.stored_order: the order in which messages were stored, for a transfer's detail
//   (SQLite orders by its rowid among messages stored in the same millisecond).
// - transfer_state_counts, kept by triggers, read by /metrics instead of counting every
//   transfer at each scrape. Inserts and deletes count per statement (a bulk copy of a million
//   transfers adds one row per state, not a million updates); a change of state per row. The
//   writers take turns (pg_writer::begin), so these few hot rows add no lock waits between them.
// The inbox, the console's catch-up, the cursors and the queue depths read primary keys already:
// deliveries(agency, seq), transfer_events(id), endpoints(agency).
constexpr std::string_view v2 = R"sql(
DROP INDEX transfers_by_requester;
DROP INDEX transfers_by_responder;
CREATE INDEX transfers_page_requester
  ON transfers(requester, updated_at, id COLLATE "C", category);
CREATE INDEX transfers_page_responder
  ON transfers(responder, updated_at, id COLLATE "C", category, requester);
CREATE INDEX transfers_page_requester_state
  ON transfers(requester, state, updated_at, id COLLATE "C", category);
CREATE INDEX transfers_page_responder_state
  ON transfers(responder, state, updated_at, id COLLATE "C", category, requester);
CREATE INDEX calls_page_caller ON calls(from_agency, started_at, id);
CREATE INDEX calls_page_callee ON calls(to_agency, started_at, id, from_agency);

ALTER TABLE messages ADD COLUMN stored_order bigint GENERATED BY DEFAULT AS IDENTITY;
DROP INDEX messages_by_transfer;
CREATE INDEX messages_by_transfer ON messages(transfer_id, stored_at, stored_order);

CREATE TABLE transfer_state_counts(
  state text PRIMARY KEY,
  n     bigint NOT NULL
);
INSERT INTO transfer_state_counts(state, n) SELECT state, count(*) FROM transfers GROUP BY state;

-- In state order, so that two statements counting several states lock their rows in one order.
CREATE FUNCTION transfer_state_counts_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO transfer_state_counts(state, n)
    SELECT state, count(*) FROM inserted GROUP BY state ORDER BY state COLLATE "C"
    ON CONFLICT(state) DO UPDATE SET n = transfer_state_counts.n + excluded.n;
  RETURN NULL;
END $$;
CREATE TRIGGER transfer_state_counts_insert AFTER INSERT ON transfers
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION transfer_state_counts_inserted();

CREATE FUNCTION transfer_state_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE transfer_state_counts SET n = n - 1 WHERE state = OLD.state;
  INSERT INTO transfer_state_counts(state, n) VALUES(NEW.state, 1)
    ON CONFLICT(state) DO UPDATE SET n = transfer_state_counts.n + 1;
  RETURN NULL;
END $$;
CREATE TRIGGER transfer_state_counts_update AFTER UPDATE OF state ON transfers
  FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
  EXECUTE FUNCTION transfer_state_counts_changed();

CREATE FUNCTION transfer_state_counts_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE transfer_state_counts c SET n = c.n - d.n
    FROM (SELECT state, count(*) AS n FROM deleted GROUP BY state) d
    WHERE c.state = d.state;
  RETURN NULL;
END $$;
CREATE TRIGGER transfer_state_counts_delete AFTER DELETE ON transfers
  REFERENCING OLD TABLE AS deleted
  FOR EACH STATEMENT EXECUTE FUNCTION transfer_state_counts_deleted();

CREATE FUNCTION transfer_state_counts_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM transfer_state_counts;
  RETURN NULL;
END $$;
CREATE TRIGGER transfer_state_counts_truncate AFTER TRUNCATE ON transfers
  FOR EACH STATEMENT EXECUTE FUNCTION transfer_state_counts_truncated();
)sql";

// Version 3: the inbox quota's count kept as rows instead of counted at each request.
// pending_counts(recipient, sender) is how many deliveries to `recipient` of messages that
// `sender` sent lie beyond the recipient's acknowledged position (endpoints.acked_upto): what
// engine::check_quota asks before each request or update, which counted the recipient's whole
// unacknowledged backlog each time (a cost that grew with the backlog). pg_writer keeps it in the
// transaction that changes it: enqueue adds one, ack subtracts what it acknowledged, per sender;
// `bluelink store copy` sets it from the copied rows. The writers take turns (pg_writer::begin),
// so these rows add no lock waits between them. Filled here from the rows already stored.
constexpr std::string_view v3 = R"sql(
CREATE TABLE pending_counts(
  recipient text NOT NULL,
  sender    text NOT NULL,
  n         bigint NOT NULL,
  PRIMARY KEY(recipient, sender)
);
INSERT INTO pending_counts(recipient, sender, n)
  SELECT d.agency, m.from_agency, count(*) FROM deliveries d
    JOIN messages m ON m.id = d.message_id
    WHERE d.seq > COALESCE((SELECT acked_upto FROM endpoints e WHERE e.agency = d.agency), 0)
    GROUP BY d.agency, m.from_agency;
)sql";

// Version 4: several gateway nodes on one database (issue 16; docs/architecture.md, "Several
// nodes"). Neither table holds a transfer: both are coordination between live nodes.
//   cluster_nodes  one row per node, rewritten by its heartbeat (about once a second): when it
//                  was last seen (the server's clock, so nodes' clocks need not agree), its CAD
//                  links and console presence as JSON, so that every node shows the links of all.
//   cad_leases     which node delivers to an agency's CAD session: one row per agency. A node
//                  takes it when a CAD says hello to it (the newest session wins, as on one node)
//                  and renews it while the session lives; the generation grows with every
//                  taking, so a node that lost it can tell. A lease whose expires_at has passed
//                  belongs to a node that died or lost the database.
constexpr std::string_view v4 = R"sql(
CREATE TABLE cluster_nodes(
  node        text PRIMARY KEY,
  started_at  timestamptz NOT NULL,
  seen_at     timestamptz NOT NULL,
  links       text NOT NULL DEFAULT '[]',
  presence    text NOT NULL DEFAULT '{}'
);
CREATE TABLE cad_leases(
  agency      text PRIMARY KEY,
  node        text NOT NULL,
  session     text NOT NULL,
  generation  bigint NOT NULL,
  taken_at    timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);
)sql";

// Partner documents as received (SQLite's migration 7).
constexpr std::string_view v5 = R"sql(
CREATE TABLE originals(
  message_id  text PRIMARY KEY,
  standard    text NOT NULL,
  media_type  text NOT NULL,
  body        text NOT NULL,
  digest      text,
  answer      text,
  received_at bigint NOT NULL
);
)sql";

// The personal-data access log (SQLite's migration 8).
constexpr std::string_view v6 = R"sql(
CREATE TABLE access_log(
  seq           bigint PRIMARY KEY,
  at            bigint NOT NULL,
  operation     text NOT NULL,
  agency        text NOT NULL,
  actor         text NOT NULL,
  actor_kind    text NOT NULL,
  channel       text NOT NULL,
  object        text NOT NULL,
  transfer_id   text NOT NULL,
  ref           text NOT NULL,
  recipients    text NOT NULL,
  justification text NOT NULL
);
CREATE INDEX access_by_transfer ON access_log(transfer_id, seq) WHERE transfer_id <> '';
CREATE INDEX access_by_actor ON access_log(actor, seq);
CREATE INDEX access_by_agency ON access_log(agency, seq);
CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the access log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
  FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
  FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();
)sql";

// Retention: tombstones, legal holds, erasable audit details (SQLite's migration 9). The update
// trigger on audit lets exactly an erasure through (the detail emptied, erased_by naming a later
// row, nothing else changed); the gateway's role is granted UPDATE on those two columns only
// (grant_gateway_rights).
constexpr std::string_view v7 = R"sql(
ALTER TABLE transfers ADD COLUMN purged_at bigint;
CREATE INDEX transfers_purge ON transfers(updated_at, id COLLATE "C") WHERE purged_at IS NULL;
ALTER TABLE calls ADD COLUMN purged_at bigint;
CREATE INDEX calls_purge ON calls(started_at, id) WHERE purged_at IS NULL;

CREATE TABLE legal_holds(
  id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  transfer_id text NOT NULL REFERENCES transfers(id),
  agency      text NOT NULL,
  placed_by   text NOT NULL,
  placed_at   bigint NOT NULL,
  reason      text NOT NULL,
  lifted_by   text,
  lifted_at   bigint,
  lift_reason text
);
CREATE UNIQUE INDEX legal_holds_current ON legal_holds(transfer_id) WHERE lifted_at IS NULL;

ALTER TABLE audit ADD COLUMN detail_sha256 text;
ALTER TABLE audit ADD COLUMN erased_by bigint;
CREATE FUNCTION audit_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.detail_sha256 IS NOT NULL AND OLD.erased_by IS NULL AND NEW.erased_by > OLD.seq
     AND NEW.detail = '' AND NEW.seq = OLD.seq AND NEW.at = OLD.at AND NEW.actor = OLD.actor
     AND NEW.action = OLD.action AND NEW.message_id IS NOT DISTINCT FROM OLD.message_id
     AND NEW.transfer_id IS NOT DISTINCT FROM OLD.transfer_id AND NEW.prev_hash = OLD.prev_hash
     AND NEW.hash = OLD.hash AND NEW.detail_sha256 = OLD.detail_sha256 THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'the audit log is append-only (only a purge may erase a detail)'
    USING ERRCODE = 'insufficient_privilege';
END $$;
DROP TRIGGER audit_no_update ON audit;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_erase_only();
)sql";

// The data-protection officer's role (issue 18): users' two CHECKs (named by PostgreSQL when v1
// made them) replaced by named ones that allow 'dpo', of one agency.
constexpr std::string_view v8 = R"sql(
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'users'::regclass AND contype = 'c' LOOP
    EXECUTE format('ALTER TABLE users DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE users
  ADD CONSTRAINT users_role CHECK(role IN ('operator', 'supervisor', 'manager', 'admin', 'dpo')),
  ADD CONSTRAINT users_agency CHECK((role IN ('operator', 'supervisor', 'dpo')) = (agency IS NOT NULL));
)sql";

const std::vector<pg_migration> list = {
    {1,
     "the SQLite schema at version 5, plus the counters that let several writers share it "
     "(agency_seq, transfer_day_seq, audit_tail, bluelink_counters)",
     v1},
    {2,
     "indexes that read lists of transfers and calls a page at a time; the order messages were "
     "stored in; transfers per state kept by triggers",
     v2},
    {3, "unacknowledged deliveries per recipient and sender kept as rows (the inbox quota)", v3},
    {4,
     "several gateway nodes: their heartbeats and links (cluster_nodes), and which node delivers "
     "to each agency's CAD (cad_leases)",
     v4},
    {5, "partner documents kept as received (originals)", v5},
    {6, "the personal-data access log (access_log, DPA 2018 s.62)", v6},
    {7, "retention: tombstones (purged_at), legal holds, erasable audit details", v7},
    {8, "the data-protection officer's role (users.role 'dpo', of one agency)", v8},
};

// pg_advisory_xact_lock's key: "BLNK", the SQLite engine's application_id.
constexpr const char* advisory_key = "1112297035";

// Runs body between BEGIN and COMMIT; any exception rolls back and is rethrown.
template <class F>
void run_in_transaction(connection& c, F&& body) {
  c.exec("BEGIN");
  try {
    body();
    c.exec("COMMIT");
  } catch (...) {
    try {
      c.exec("ROLLBACK");
    } catch (...) {
      // The connection is gone: the server rolled back.
    }
    throw;
  }
}

}  // namespace

const std::vector<pg_migration>& all_pg_migrations() {
  return list;
}

int schema_version(connection& c) {
  auto r = c.query("SELECT to_regclass('bluelink_schema') IS NOT NULL");
  if (!r.boolean(0, 0)) return 0;
  auto v = c.query("SELECT version FROM bluelink_schema");
  return v.rows() ? static_cast<int>(v.int64(0, 0)) : 0;
}

void migrate(connection& c, int upto) {
  const int latest = list.back().version;
  // A gateway running as a role with row rights only (docs/operations.md) cannot change the
  // schema: the owner has to migrate first. Say so, rather than "permission denied".
  const std::string who = c.query("SELECT current_user").text(0, 0);
  auto run_ddl = [&](const std::string& sql, int current) {
    try {
      c.exec(sql);
    } catch (const store_error& e) {
      if (std::string_view(e.what()).find("SQLSTATE 42501") == std::string_view::npos) throw;
      throw store_error(fault::corrupt,
                        "the database is at schema version " + std::to_string(current) +
                            " and this gateway needs " + std::to_string(latest) + ", but role '" +
                            who +
                            "' may not change the schema: run `bluelink store migrate --store "
                            "postgres:CONNINFO --grant " +
                            who + "` as the database's owner role, then start the gateway again (" +
                            e.what() + ")");
    }
  };
  const int target = upto > 0 ? upto : latest;
  run_in_transaction(c, [&] {
    // Held until COMMIT: a second gateway starting now waits here, then finds nothing to do.
    c.exec(std::string("SELECT pg_advisory_xact_lock(") + advisory_key + ")");
    int current = 0;
    auto has = c.query("SELECT to_regclass('bluelink_schema') IS NOT NULL");
    if (has.boolean(0, 0)) {
      auto row = c.query("SELECT application, version FROM bluelink_schema");
      if (row.rows() != 1 || row.text(0, 0) != schema_application)
        throw store_error(fault::corrupt,
                          "the database has a bluelink_schema table that is not Bluelink's: it "
                          "is not a Bluelink store");
      current = static_cast<int>(row.int64(0, 1));
    } else {
      auto tables =
          c.query("SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema()");
      if (tables.int64(0, 0) > 0)
        throw store_error(fault::corrupt,
                          "the database has tables but is not a Bluelink store (no "
                          "bluelink_schema table): refusing to adopt it; give the gateway an "
                          "empty database of its own");
      run_ddl(
          "CREATE TABLE bluelink_schema("
          " only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),"
          " application text NOT NULL,"
          " version integer NOT NULL,"
          " migrated_at timestamptz NOT NULL DEFAULT now())",
          0);
      c.query("INSERT INTO bluelink_schema(application, version) VALUES($1, 0)",
              {std::string(schema_application)});
    }
    if (current > latest)
      throw store_error(fault::corrupt, "database schema version " + std::to_string(current) +
                                            " is newer than this gateway understands (" +
                                            std::to_string(latest) + "); upgrade the gateway");
    for (const auto& m : list) {
      if (m.version <= current || m.version > target) continue;
      run_ddl(std::string(m.sql), current);
      c.query("UPDATE bluelink_schema SET version = $1, migrated_at = now()",
              {p(std::int64_t{m.version})});
    }
  });
}

std::vector<std::string> grant_gateway_rights(connection& c, const std::string& role) {
  auto exists = c.query("SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1", {role});
  if (exists.int64(0, 0) != 1)
    throw store_error(fault::corrupt, "there is no role '" + role +
                                          "' on the server: create it first (CREATE ROLE " + role +
                                          " LOGIN)");
  const std::string r = c.query("SELECT quote_ident($1)", {role}).text(0, 0);
  const std::string schema = c.query("SELECT quote_ident(current_schema())").text(0, 0);
  // Row rights on every table; the audit log and the schema marker are read-mostly: the
  // gateway appends audit rows (never changes or removes one) and only reads the version.
  const std::vector<std::string> statements = {
      "GRANT USAGE ON SCHEMA " + schema + " TO " + r,
      "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + r,
      "REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM " + r,
      // A purge empties an audit row's detail (the trigger allows nothing else).
      "GRANT UPDATE (detail, erased_by) ON audit TO " + r,
      "REVOKE UPDATE, DELETE, TRUNCATE ON access_log FROM " + r,
      "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON bluelink_schema FROM " + r,
      "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + r,
      // Tables and sequences a later migration adds get the same row rights.
      "ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema +
          " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO " + r,
      "ALTER DEFAULT PRIVILEGES IN SCHEMA " + schema + " GRANT USAGE, SELECT ON SEQUENCES TO " + r,
  };
  run_in_transaction(c, [&] {
    for (const auto& sql : statements) c.exec(sql);
  });
  return statements;
}

}  // namespace bl::store::postgres
