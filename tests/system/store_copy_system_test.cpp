// `bluelink store copy --from sqlite:FILE --to postgres:CONNINFO` as an operator runs it: the real
// CLI binary against a real PostgreSQL 15 server the test starts itself. Progress on stderr, a
// summary on stdout, the password never printed, and the exit codes: 0 done, 2 usage, 3 store
// (target not empty), 4 verification failed (nothing committed).

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <string>

#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/sqlite/writer.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tools/pg_server/pg_server.hpp"

using bl::test::run_cli;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

constexpr const char* secret = "never-printed-51c2";

// A small store as a gateway leaves it: transfers with their messages, deliveries and audit rows.
void make_store(const std::string& path, int n) {
  bl::store::sqlite::writer w{bl::store::store_options(path)};
  const bl::time_point t0 = bl::from_ms(1'764'900'000'000);
  w.begin();
  for (int i = 0; i < n; ++i) {
    bl::time_point at = t0 + std::chrono::seconds(i);
    bl::transfer t;
    t.id = w.next_transfer_id(at);
    t.version = 1;
    t.category = "scene_security";
    t.requester = "fire";
    t.responder = "police";
    t.request_message_id = "fire:m" + std::to_string(i);
    t.created_at = t.updated_at = at;
    t.expires_at = t.delivery_due = t.decision_due = at + std::chrono::minutes(15);
    w.save_transfer(t, true);
    w.insert_message(t.request_message_id, "transfer.request", "fire", "police", t.id, 1, "live",
                     at, at, "{}", "{\"ok\":true}");
    w.enqueue("police", t.request_message_id, t.id, "transfer.request", at, "fire");
    w.audit(at, "fire", "message.in", t.request_message_id, t.id, "{}");
  }
  w.commit();
}

std::string target(bl::test::pg_server& pg, const std::string& db) {
  return "postgres:" + pg.conninfo(db);
}

}  // namespace

TEST_CASE("bluelink store copy moves a site to PostgreSQL, shows progress and refuses a second run",
          "[system][postgres]") {
  ::setenv("BL_TEST_COPY_PASSWORD", secret, 1);
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  make_store(file, 25);
  bl::test::pg_server pg;
  pg.create_database("bl");

  auto r = run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to",
                                target(pg, "bl"), "--password-env", "BL_TEST_COPY_PASSWORD"});
  INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
  CHECK(r.exit_code == 0);
  CHECK(contains(r.err, "copying sqlite:" + file));
  CHECK(contains(r.err, "messages"));
  CHECK(contains(r.err, "25 / 25"));
  CHECK(contains(r.err, "rows/s"));
  CHECK(contains(r.err, "done"));
  CHECK(contains(r.out, "store copy done"));
  CHECK(contains(r.out, "audit chain verified on the target (25 rows"));
  CHECK(contains(r.out, "note: transfer_state_counts"));
  CHECK_FALSE(contains(r.out + r.err, secret));
  CHECK(pg.psql("SELECT count(*) FROM transfers", "bl") == "25");
  CHECK(pg.psql("SELECT last_seq FROM agency_seq WHERE agency = 'police'", "bl") == "25");

  // `bluelink audit verify` passes on the target, as on the source.
  auto verified = run_cli(dir.path(), {"audit", "verify", "--store", target(pg, "bl"),
                                       "--password-env", "BL_TEST_COPY_PASSWORD"});
  INFO("audit verify (postgres):\n" << verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  CHECK(contains(verified.out, "audit chain verified: 25 rows"));
  CHECK(contains(verified.out, "postgres"));
  CHECK_FALSE(contains(verified.out + verified.err, secret));
  auto source = run_cli(dir.path(), {"audit", "verify", "--store", "sqlite:" + file});
  CHECK(source.exit_code == 0);
  CHECK(contains(source.out, "audit chain verified: 25 rows"));

  auto again = run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to",
                                    target(pg, "bl"), "--password-env", "BL_TEST_COPY_PASSWORD"});
  INFO("second run stderr:\n" << again.err);
  CHECK(again.exit_code == 3);
  CHECK(contains(again.err, "not empty"));
  CHECK(pg.psql("SELECT count(*) FROM transfers", "bl") == "25");
  ::unsetenv("BL_TEST_COPY_PASSWORD");
}

TEST_CASE("bluelink store copy rejects bad arguments with exit code 2", "[system][postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  make_store(file, 1);
  auto bad_from =
      run_cli(dir.path(), {"store", "copy", "--from", file, "--to", "postgres:dbname=x"});
  CHECK(bad_from.exit_code == 2);
  CHECK(contains(bad_from.err, "--from takes sqlite:FILE"));
  auto bad_to = run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to", "x"});
  CHECK(bad_to.exit_code == 2);
  auto pw = run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to",
                                 std::string("postgres:dbname=x password=") + secret});
  CHECK(pw.exit_code == 2);
  CHECK(contains(pw.err, "holds a password"));
  CHECK_FALSE(contains(pw.out + pw.err, secret));
  ::unsetenv("BL_TEST_COPY_UNSET");
  auto env = run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to",
                                  "postgres:dbname=x", "--password-env", "BL_TEST_COPY_UNSET"});
  CHECK(env.exit_code == 2);
  CHECK(contains(env.err, "BL_TEST_COPY_UNSET is not set"));
  auto unreachable =
      run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to",
                           "postgres:host=" + dir.path().string() + " port=1 dbname=x"});
  CHECK(unreachable.exit_code == 3);
  CHECK(contains(unreachable.err, "cannot be reached"));
}

TEST_CASE("bluelink store copy of a store whose audit chain is broken exits 4 and commits nothing",
          "[system][postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  make_store(file, 5);
  {
    // Someone altered row 3 behind the append-only triggers' back.
    bl::store::db d(file, false, false);
    d.exec("DROP TRIGGER audit_no_update");
    d.exec("UPDATE audit SET detail = '{\"altered\":true}' WHERE seq = 3");
  }
  bl::test::pg_server pg;
  pg.create_database("bl");
  auto r =
      run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to", target(pg, "bl")});
  INFO("stderr:\n" << r.err);
  CHECK(r.exit_code == 4);
  CHECK(contains(r.err, "NOT verified"));
  CHECK(contains(r.err, "audit row 3"));
  CHECK(pg.psql("SELECT count(*) FROM transfers", "bl") == "0");
}

TEST_CASE(
    "bluelink audit verify works on PostgreSQL: a broken chain exits 1, usage 2, unreachable 3",
    "[system][postgres]") {
  bl::test::temp_dir dir;
  std::string file = dir.file("bluelink.db");
  make_store(file, 6);
  bl::test::pg_server pg;
  pg.create_database("bl");
  REQUIRE(
      run_cli(dir.path(), {"store", "copy", "--from", "sqlite:" + file, "--to", target(pg, "bl")})
          .exit_code == 0);
  // Someone altered row 4 behind the append-only triggers' back.
  pg.psql("ALTER TABLE audit DISABLE TRIGGER audit_no_update", "bl");
  pg.psql("UPDATE audit SET detail = '{\"altered\":true}' WHERE seq = 4", "bl");
  auto broken = run_cli(dir.path(), {"audit", "verify", "--store", target(pg, "bl")});
  INFO("stdout:\n" << broken.out << "\nstderr:\n" << broken.err);
  CHECK(broken.exit_code == 1);
  CHECK(contains(broken.out, "audit chain BROKEN"));
  CHECK(contains(broken.out, "row 4 was altered"));

  auto none = run_cli(dir.path(), {"audit", "verify"});
  CHECK(none.exit_code == 2);
  CHECK(contains(none.err, "exactly one of --database"));
  auto two =
      run_cli(dir.path(), {"audit", "verify", "--database", file, "--store", target(pg, "bl")});
  CHECK(two.exit_code == 2);
  auto pw = run_cli(dir.path(), {"audit", "verify", "--store",
                                 std::string("postgres:dbname=bl password=") + secret});
  CHECK(pw.exit_code == 2);
  CHECK(contains(pw.err, "holds a password"));
  CHECK_FALSE(contains(pw.out + pw.err, secret));
  auto stray = run_cli(dir.path(), {"audit", "verify", "--database", file, "--password-env", "X"});
  CHECK(stray.exit_code == 2);
  auto missing = run_cli(dir.path(), {"audit", "verify", "--store", "sqlite:" + dir.file("no.db")});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "no database at"));
  auto unreachable = run_cli(
      dir.path(), {"audit", "verify", "--store",
                   "postgres:host=" + dir.path().string() + " port=1 dbname=x connect_timeout=2"});
  INFO("unreachable:\n" << unreachable.err);
  CHECK(unreachable.exit_code == 3);
  CHECK(contains(unreachable.err, "cannot be reached"));
}
