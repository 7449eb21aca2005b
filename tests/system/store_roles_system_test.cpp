// Least privilege on PostgreSQL (docs/operations.md, "Roles"): the database's owner role migrates
// with `bluelink store migrate --grant ROLE`, and the gateway runs as a login role with row rights
// only. That role can do everything the gateway does, and cannot change the schema, alter or
// remove an audit row, or switch off the audit log's triggers. A gateway role facing a schema it
// may not migrate is stopped with a message that says what to run.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "gateway/core/lifecycle.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/postgres/migrations.hpp"
#include "gateway/store/postgres/pg.hpp"
#include "gateway/store/store_error.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::test::run_cli;
using Catch::Matchers::Contains;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

bl::store::store_options as_role(bl::test::pg_server& pg, const std::string& role) {
  bl::store::store_options o;
  o.engine = bl::store::engine_kind::postgres;
  o.path.clear();
  o.conninfo = pg.conninfo("blr") + " user=" + role;
  return o;
}

}  // namespace

TEST_CASE("the owner migrates and grants; the gateway's role has row rights and no more",
          "[system][postgres]") {
  bl::test::temp_dir dir;
  bl::test::pg_server pg(false);
  pg.psql("CREATE ROLE bl_owner LOGIN; CREATE ROLE bl_gw LOGIN");
  pg.psql("CREATE DATABASE blr OWNER bl_owner");
  const auto owner = as_role(pg, "bl_owner");
  const auto gw = as_role(pg, "bl_gw");

  // The gateway's role cannot create the schema: it is told what to run instead.
  try {
    bl::store::open_writer(gw);
    FAIL("the gateway's role migrated a database it does not own");
  } catch (const bl::store::store_error& e) {
    INFO(e.what());
    CHECK(e.kind() == bl::store::fault::corrupt);
    CHECK(contains(e.what(), "bluelink store migrate"));
    CHECK(contains(e.what(), "--grant bl_gw"));
    CHECK(contains(e.what(), "schema version 0"));
  }

  const std::string latest =
      std::to_string(bl::store::postgres::all_pg_migrations().back().version);
  auto first = run_cli(dir.path(), {"store", "migrate", "--store", "postgres:" + owner.conninfo,
                                    "--grant", "bl_gw"});
  INFO("store migrate:\n" << first.out << first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(contains(first.out, "schema migrated from version 0 to " + latest));
  CHECK(contains(first.out, "role bl_gw now has the gateway's rights"));
  CHECK(contains(first.out, "REVOKE UPDATE, DELETE, TRUNCATE ON audit"));
  CHECK(contains(first.out, "REVOKE UPDATE, DELETE, TRUNCATE ON access_log"));
  auto again = run_cli(dir.path(), {"store", "migrate", "--store", "postgres:" + owner.conninfo});
  CHECK(again.exit_code == 0);
  CHECK(contains(again.out, "schema already at version " + latest));

  // Everything the gateway does, as its role: write a transfer with its delivery and audit row,
  // read it back, verify the chain, add a console user and sign in.
  {
    auto w = bl::store::open_writer(gw);
    const bl::time_point at = bl::from_ms(1'764'900'000'000);
    w->begin();
    bl::transfer t;
    t.id = w->next_transfer_id(at);
    t.version = 1;
    t.category = "scene_security";
    t.requester = "fire";
    t.responder = "police";
    t.request_message_id = "fire:m1";
    t.created_at = t.updated_at = at;
    t.expires_at = t.delivery_due = t.decision_due = at + std::chrono::minutes(15);
    w->save_transfer(t, true);
    w->insert_message(t.request_message_id, "transfer.request", "fire", "police", t.id, 1, "live",
                      at, at, "{}", "{\"ok\":true}");
    w->enqueue("police", t.request_message_id, t.id, "transfer.request", at, "fire");
    w->audit(at, "fire", "message.in", t.request_message_id, t.id, "{}");
    bl::store::access_entry e;
    e.at = at;
    e.operation = "consult";
    e.agency = "police";
    e.actor = "kim.hall";
    e.actor_kind = "user";
    e.channel = "console";
    e.object = "transfer";
    e.transfer_id = t.id;
    w->access(e);
    w->commit();
  }
  auto rd = bl::store::open_reader(gw);
  auto rep = rd->verify_audit();
  CHECK(rep.ok);
  CHECK(rep.rows == 2);
  CHECK(rd->access_log({}).size() == 1);
  CHECK(rd->last_seq("police") == 1);
  auto verify = run_cli(dir.path(), {"audit", "verify", "--store", "postgres:" + gw.conninfo});
  CHECK(verify.exit_code == 0);

  // And nothing more: no schema change, no audit row altered or removed, no trigger switched off.
  bl::store::postgres::connection c(gw.conninfo);
  auto refused = [&](const std::string& sql, const std::string& why) {
    INFO(sql);
    CHECK_THROWS_WITH(c.exec(sql), Contains(why));
  };
  // A purge may empty a detail (the role may update detail and erased_by, the trigger allows an
  // erasure only); nothing else.
  refused("UPDATE audit SET detail = '{}' WHERE seq = 1", "append-only");
  refused("UPDATE audit SET actor = 'x' WHERE seq = 1", "permission denied");
  refused("DELETE FROM audit", "permission denied");
  refused("TRUNCATE audit", "permission denied");
  refused("ALTER TABLE audit DISABLE TRIGGER audit_no_update", "must be owner");
  refused("DROP TRIGGER audit_no_update ON audit", "must be owner");
  refused("UPDATE access_log SET actor = 'x' WHERE seq = 2", "permission denied");
  refused("DELETE FROM access_log", "permission denied");
  refused("TRUNCATE access_log", "permission denied");
  refused("ALTER TABLE access_log DISABLE TRIGGER access_log_no_delete", "must be owner");
  refused("DROP TABLE transfers", "must be owner");
  refused("CREATE TABLE extra(i integer)", "permission denied");
  refused("UPDATE bluelink_schema SET version = 99", "permission denied");
  CHECK(pg.psql("SELECT count(*) FROM audit", "blr") == "2");
  CHECK(pg.psql("SELECT count(*) FROM access_log", "blr") == "1");
}

TEST_CASE("bluelink store migrate refuses an SQLite store, a missing role and bad arguments",
          "[system][postgres]") {
  bl::test::temp_dir dir;
  bl::test::pg_server pg(false);
  pg.psql("CREATE ROLE bl_owner LOGIN");
  pg.psql("CREATE DATABASE blr OWNER bl_owner");
  const auto owner = as_role(pg, "bl_owner");

  auto sqlite = run_cli(dir.path(), {"store", "migrate", "--store", "sqlite:" + dir.file("x.db")});
  CHECK(sqlite.exit_code == 2);
  CHECK(contains(sqlite.err, "--store takes postgres:CONNINFO"));
  auto no_role = run_cli(dir.path(), {"store", "migrate", "--store", "postgres:" + owner.conninfo,
                                      "--grant", "nobody_here"});
  INFO(no_role.err);
  CHECK(no_role.exit_code == 3);
  CHECK(contains(no_role.err, "there is no role 'nobody_here'"));
  auto pw =
      run_cli(dir.path(), {"store", "migrate", "--store", "postgres:dbname=blr password=hunter2"});
  CHECK(pw.exit_code == 2);
  CHECK_FALSE(contains(pw.out + pw.err, "hunter2"));
  auto unreachable = run_cli(
      dir.path(), {"store", "migrate", "--store",
                   "postgres:host=" + dir.path().string() + " port=1 dbname=x connect_timeout=2"});
  CHECK(unreachable.exit_code == 3);
  CHECK(contains(unreachable.err, "cannot be reached"));
}
