#include <catch2/catch.hpp>

#include <chrono>
#include <thread>
#include <vector>

#include "gateway/core/digest.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/migrations.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/store_engine.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bl;

namespace {

/// A migrated store on one engine (created by the store's writer, as the gateway does) and a
/// config with two agencies. Every test case runs on each engine: GENERATE picks it.
struct rig {
  rig() : db(GENERATE(from_range(test::store_engine::all()))) {
    agency_config fire;
    fire.id = "essex-fire";
    agency_config police;
    police.id = "essex-police";
    cfg.agencies = {fire, police};
    cfg.busy_timeout_ms = 2000;
    db.create();
  }
  /// A connection of its own to the accounts in the store, as each process has.
  std::unique_ptr<store::account_store> connect() {
    return store::open_account_store(db.options());
  }
  accounts& open() {
    if (!accts) accts = std::make_unique<accounts>(cfg, connect());
    return *accts;
  }
  std::int64_t scalar(const std::string& sql, const std::string& arg = {}) {
    return arg.empty() ? db.scalar(sql) : db.scalar(sql, {arg});
  }

  test::store_engine db;
  gateway_config cfg;
  std::unique_ptr<accounts> accts;
};

const std::string good_password = "correct horse battery";

login_ok must_login(accounts& a, const std::string& user, const std::string& pw = good_password,
                    const std::string& remote = "127.0.0.1") {
  auto r = a.login(user, pw, remote);
  if (auto* e = std::get_if<error>(&r)) FAIL("login refused: " << e->id() << " " << e->message);
  return std::get<login_ok>(r);
}

std::string error_id(const std::variant<login_ok, error>& r) {
  auto* e = std::get_if<error>(&r);
  return e ? std::string(e->id()) : "ok";
}

std::string error_id(const std::variant<principal, error>& r) {
  auto* e = std::get_if<error>(&r);
  return e ? std::string(e->id()) : "ok";
}

}  // namespace

TEST_CASE("roles round-trip through their names", "[accounts]") {
  for (auto r : {role::operator_role, role::supervisor, role::manager, role::admin, role::dpo})
    CHECK(role_from(to_string(r)) == r);
  CHECK(to_string(role::dpo) == "dpo");
  CHECK(to_string(role::operator_role) == "operator");
  CHECK_FALSE(role_from("root"));
}

TEST_CASE("add_user refuses bad input with a message naming the problem", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("Sam.Patel", "Sam Patel", role::operator_role, "essex-fire", good_password);
  auto refused = [&](const std::string& user, const std::string& name, role r,
                     const std::string& agency, const std::string& pw) {
    try {
      a.add_user(user, name, r, agency, pw);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK_THAT(refused("sam.patel", "Other", role::operator_role, "essex-fire", good_password),
             Catch::Contains("already exists"));
  CHECK_THAT(refused("ab", "A B", role::manager, "", good_password), Catch::Contains("3 to 64"));
  CHECK_THAT(refused("sam patel", "S", role::manager, "", good_password),
             Catch::Contains("may only contain"));
  CHECK_THAT(refused("sam2", " ", role::manager, "", good_password),
             Catch::Contains("display name"));
  CHECK_THAT(refused("sam2", "Sam", role::operator_role, "", good_password),
             Catch::Contains("--agency"));
  CHECK_THAT(refused("sam2", "Sam", role::supervisor, "kent-fire", good_password),
             Catch::Contains("'kent-fire' is not in the gateway's config"));
  CHECK_THAT(refused("sam2", "Sam", role::manager, "essex-fire", good_password),
             Catch::Contains("acts for no agency"));
  CHECK_THAT(refused("sam2", "Sam", role::admin, "", "short"), Catch::Contains("at least 10"));

  auto users = a.list_users();
  REQUIRE(users.size() == 1);
  CHECK(users[0].username == "sam.patel");
  CHECK(users[0].agency == "essex-fire");
  CHECK(users[0].who == role::operator_role);
  CHECK_FALSE(users[0].disabled);
}

TEST_CASE("a data-protection officer belongs to one agency, and reads but does not act for it",
          "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("police.dpo", "Pat Reid", role::dpo, "essex-police", good_password);
  CHECK_THROWS_WITH(a.add_user("dpo2", "Jo", role::dpo, "", good_password),
                    Catch::Contains("belongs to one agency"));
  auto users = a.list_users();
  REQUIRE(users.size() == 1);
  CHECK(users[0].who == role::dpo);
  CHECK(users[0].agency == "essex-police");
  auto ok = must_login(a, "police.dpo");
  CHECK(ok.who.who == role::dpo);
  CHECK(ok.who.agency == "essex-police");
  CHECK_FALSE(acts_for_agency(ok.who));
  principal op = ok.who;
  op.who = role::supervisor;
  CHECK(acts_for_agency(op));
  // The store itself holds the rule, whatever writes to it.
  CHECK_THROWS(
      t.db.exec("INSERT INTO users(username, display_name, role, agency, password_hash, created_at,"
                " updated_at) VALUES('dpo3', 'X', 'dpo', NULL, 'x', 1, 1)"));
  CHECK_THROWS(
      t.db.exec("INSERT INTO users(username, display_name, role, agency, password_hash, created_at,"
                " updated_at) VALUES('dpo4', 'X', 'auditor', 'essex-fire', 'x', 1, 1)"));
}

TEST_CASE(
    "migration 10 rebuilds the users table for the officer's role, keeping every user and "
    "session",
    "[accounts][sqlite]") {
  test::temp_dir dir;
  const auto path = dir.file("v9.db");
  {
    store::db d(path, true, false);
    for (const auto& m : store::all_migrations())
      if (m.version <= 9) d.exec(m.sql);
    d.exec("PRAGMA user_version = 9");
    d.exec("PRAGMA application_id = 1112297035");  // "BLNK", as the writer stamps its files
    d.exec(
        "INSERT INTO users(id, username, display_name, role, agency, password_hash, created_at,"
        " updated_at) VALUES(7, 'Sam.Patel', 'Sam Patel', 'supervisor', 'essex-fire', 'h', 1, 2)");
    d.exec(
        "INSERT INTO sessions(token_sha256, user_id, csrf_token, created_at, last_seen, "
        "expires_at) VALUES('abc', 7, 'c', 1, 1, 99)");
  }
  // The gateway's writer migrates (foreign keys off meanwhile, checked before the step commits).
  store::store_options o{path, true, 2000, {}};
  store::open_writer(o);
  store::db d(path, false, true);
  auto one = [&](const std::string& sql) {
    store::stmt s(d, sql);
    return s.step() ? s.text(0) : std::string("(none)");
  };
  CHECK(one("PRAGMA user_version") == "10");
  CHECK(one("SELECT username || ' ' || role || ' ' || agency || ' ' || created_at || ' ' ||"
            " updated_at FROM users WHERE id = 7") == "Sam.Patel supervisor essex-fire 1 2");
  CHECK(one("SELECT user_id FROM sessions WHERE token_sha256 = 'abc'") == "7");
  CHECK(one("SELECT count(*) FROM pragma_foreign_key_check") == "0");
  // Usernames stay unique whatever their case, as before.
  gateway_config cfg;
  agency_config fire;
  fire.id = "essex-fire";
  cfg.agencies = {fire};
  accounts a(cfg, store::open_account_store(o));
  CHECK_THROWS_WITH(
      a.add_user("sam.patel", "Other", role::operator_role, "essex-fire", good_password),
      Catch::Contains("already exists"));
  a.add_user("fire.dpo", "Pat Reid", role::dpo, "essex-fire", good_password);
  CHECK(a.list_users().size() == 2);
}

TEST_CASE("passwords are stored as Argon2id hashes, never as given", "[accounts][postgres]") {
  rig t;
  t.open().add_user("alice", "Alice", role::admin, "", good_password);
  auto rows = t.db.query("SELECT password_hash FROM users WHERE username = 'alice'");
  REQUIRE(rows.size() == 1);
  const std::string hash = rows[0][0].value_or("");
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(hash.find(good_password) == std::string::npos);
}

TEST_CASE("a sign-in opens a session that resolves to the user", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("Fire.Operator", "Fire Operator", role::operator_role, "essex-fire", good_password);
  // Usernames are case-insensitive.
  auto ok = must_login(a, "FIRE.operator");
  CHECK(ok.who.username == "fire.operator");
  CHECK(ok.who.agency == "essex-fire");
  CHECK(ok.who.via_session);
  CHECK(ok.session_token.size() >= 43);
  CHECK(ok.who.csrf_token.size() >= 43);
  CHECK(ok.who.csrf_token != ok.session_token);

  auto s = a.session(ok.session_token);
  REQUIRE(error_id(s) == "ok");
  auto& p = std::get<principal>(s);
  CHECK(p.user_id == ok.who.user_id);
  CHECK(p.display_name == "Fire Operator");
  CHECK(p.who == role::operator_role);
  CHECK(p.csrf_token == ok.who.csrf_token);
  CHECK(p.via_session);
  CHECK(p.expires_at >= ok.expires_at);

  CHECK(error_id(a.session("not-a-token")) == "bl.auth.session_expired");
  CHECK(error_id(a.session("")) == "bl.auth.session_expired");
}

TEST_CASE("only the SHA-256 of a session token is stored", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto ok = must_login(a, "alice");
  CHECK(t.scalar("SELECT count(*) FROM sessions WHERE token_sha256 = $1",
                 sha256_hex(ok.session_token)) == 1);
  // LIKE's wildcards only widen the match, so no match is still proof of absence.
  CHECK(t.scalar("SELECT count(*) FROM sessions WHERE token_sha256 = $1 OR csrf_token = $1 OR "
                 "(token_sha256 || csrf_token || coalesce(remote, '')) LIKE '%' || $1 || '%'",
                 ok.session_token) == 0);
}

TEST_CASE("a wrong password and an unknown user are refused alike", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto wrong = a.login("alice", "not the password", "10.0.0.1");
  auto unknown = a.login("mallory", good_password, "10.0.0.2");
  REQUIRE(error_id(wrong) == "bl.auth.login_failed");
  REQUIRE(error_id(unknown) == "bl.auth.login_failed");
  CHECK(std::get<error>(wrong).message == std::get<error>(unknown).message);
}

TEST_CASE("a disabled user cannot sign in and loses its sessions", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::manager, "", good_password);
  auto ok = must_login(a, "alice");
  a.set_disabled("ALICE", true);
  CHECK(error_id(a.session(ok.session_token)) == "bl.auth.session_expired");
  CHECK(error_id(a.login("alice", good_password, "10.0.0.1")) == "bl.auth.account_disabled");
  // A wrong password does not reveal that the account is disabled.
  CHECK(error_id(a.login("alice", "wrong password!", "10.0.0.2")) == "bl.auth.login_failed");
  CHECK(a.list_users()[0].disabled);
  a.set_disabled("alice", false);
  must_login(a, "alice", good_password, "10.0.0.3");
  CHECK_THROWS_AS(a.set_disabled("nobody", true), std::invalid_argument);
}

TEST_CASE("a user disabled by another process loses its session at once", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::manager, "", good_password);
  auto ok = must_login(a, "alice");
  REQUIRE(error_id(a.session(ok.session_token)) == "ok");
  // The CLI has its own connection and its own accounts object.
  accounts(t.cfg, t.connect()).set_disabled("alice", true);
  CHECK(error_id(a.session(ok.session_token)) == "bl.auth.session_expired");
}

TEST_CASE("logging out ends the session, and logging out twice is harmless",
          "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto one = must_login(a, "alice");
  auto two = must_login(a, "alice");
  a.logout(one.session_token);
  a.logout(one.session_token);
  a.logout("never-issued");
  auto s = a.session(one.session_token);
  REQUIRE(error_id(s) == "bl.auth.session_expired");
  CHECK_THAT(std::get<error>(s).message, Catch::Contains("signed out"));
  CHECK(error_id(a.session(two.session_token)) == "ok");
}

TEST_CASE("a new password ends every session of the user", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  a.add_user("bob", "Bob", role::admin, "", good_password);
  auto alice = must_login(a, "alice");
  auto bob = must_login(a, "bob");
  a.set_password("alice", "a brand new password");
  CHECK(error_id(a.session(alice.session_token)) == "bl.auth.session_expired");
  CHECK(error_id(a.session(bob.session_token)) == "ok");
  CHECK(error_id(a.login("alice", good_password, "10.0.0.1")) == "bl.auth.login_failed");
  must_login(a, "alice", "a brand new password", "10.0.0.2");
  CHECK_THROWS_WITH(a.set_password("alice", "short"), Catch::Contains("at least 10"));
  CHECK_THROWS_WITH(a.set_password("nobody", good_password), Catch::Contains("no user named"));
}

TEST_CASE("a session used within its idle time is renewed", "[accounts][slow][postgres]") {
  rig t;
  t.cfg.console.session_idle_s = 2;
  t.cfg.console.session_max_s = 60;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto ok = must_login(a, "alice");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  REQUIRE(error_id(a.session(ok.session_token)) == "ok");
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  // 2.4 s after sign-in, past the first idle deadline, but used 1.2 s ago.
  auto s = a.session(ok.session_token);
  REQUIRE(error_id(s) == "ok");
  CHECK(std::get<principal>(s).expires_at > ok.expires_at);
  // The renewals were kept in memory: the row was written at sign-in only (once a minute at most).
  CHECK(t.scalar("SELECT count(*) FROM sessions WHERE last_seen = created_at") == 1);
}

TEST_CASE("a session left idle too long ends", "[accounts][slow][postgres]") {
  rig t;
  t.cfg.console.session_idle_s = 1;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto ok = must_login(a, "alice");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto s = a.session(ok.session_token);
  REQUIRE(error_id(s) == "bl.auth.session_expired");
  CHECK_THAT(std::get<error>(s).message, Catch::Contains("without use"));
}

TEST_CASE("a busy session still ends at its absolute limit", "[accounts][slow][postgres]") {
  rig t;
  t.cfg.console.session_idle_s = 60;
  t.cfg.console.session_max_s = 1;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto ok = must_login(a, "alice");
  CHECK(ok.expires_at - now_ms() <= std::chrono::seconds(1));
  for (int i = 0; i < 5; ++i) {
    REQUIRE(error_id(a.session(ok.session_token)) == "ok");
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto s = a.session(ok.session_token);
  REQUIRE(error_id(s) == "bl.auth.session_expired");
  CHECK_THAT(std::get<error>(s).message, Catch::Contains("time limit"));
}

TEST_CASE("an expiry written to the database by someone else is obeyed", "[accounts][postgres]") {
  rig t;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  auto ok = must_login(a, "alice");
  REQUIRE(error_id(a.session(ok.session_token)) == "ok");
  t.db.exec("UPDATE sessions SET expires_at = 1000");
  CHECK(error_id(a.session(ok.session_token)) == "bl.auth.session_expired");
}

TEST_CASE("failed sign-ins slow the guesser without locking the account", "[accounts][postgres]") {
  rig t;
  t.cfg.console.login_attempts_per_minute = 3;
  auto& a = t.open();
  a.add_user("alice", "Alice", role::admin, "", good_password);
  a.add_user("bob", "Bob", role::admin, "", good_password);

  SECTION("guesses at a named account from one address slow that address only") {
    for (int i = 0; i < 3; ++i)
      CHECK(error_id(a.login("ALICE", "wrong password", "10.0.1.1")) == "bl.auth.login_failed");
    // Refused before the password is even checked: the right one does not help from here now.
    auto r = a.login("alice", good_password, "10.0.1.1");
    REQUIRE(error_id(r) == "bl.auth.rate_limited");
    CHECK_THAT(std::get<error>(r).message, Catch::Contains("wait 1 s"));
    // The real Alice, at her own console, is not locked out by someone who knows her name.
    must_login(a, "alice", good_password, "10.0.1.9");
  }
  SECTION("the wait doubles with each further failure and ends by itself") {
    for (int i = 0; i < 3; ++i) a.login("alice", "wrong password", "10.0.2.1");
    CHECK(error_id(a.login("alice", "wrong password", "10.0.2.1")) == "bl.auth.rate_limited");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    CHECK(error_id(a.login("alice", "wrong password", "10.0.2.1")) == "bl.auth.login_failed");
    auto r = a.login("alice", good_password, "10.0.2.1");
    REQUIRE(error_id(r) == "bl.auth.rate_limited");
    CHECK_THAT(std::get<error>(r).message, Catch::Contains("wait 2 s"));
    std::this_thread::sleep_for(std::chrono::milliseconds(2100));
    must_login(a, "alice", good_password, "10.0.2.1");
    // A success starts the account's count again from this address.
    for (int i = 0; i < 3; ++i)
      CHECK(error_id(a.login("alice", "wrong password", "10.0.2.1")) == "bl.auth.login_failed");
  }
  SECTION("an address spraying many accounts is slowed after ten times the free attempts") {
    for (int i = 0; i < 30; ++i)
      CHECK(error_id(a.login("user" + std::to_string(i), "wrong password", "10.0.3.1")) ==
            "bl.auth.login_failed");
    CHECK(error_id(a.login("bob", good_password, "10.0.3.1")) == "bl.auth.rate_limited");
    must_login(a, "bob", good_password, "10.0.3.2");
  }
  SECTION("a few mistakes by operators behind one address do not hold the others up") {
    for (int i = 0; i < 8; ++i)
      CHECK(error_id(a.login("op" + std::to_string(i), "typo", "10.0.4.1")) ==
            "bl.auth.login_failed");
    for (int i = 0; i < 10; ++i)
      CHECK_FALSE(
          must_login(a, i % 2 ? "alice" : "bob", good_password, "10.0.4.1").session_token.empty());
  }
}

TEST_CASE("operators signing in together from one address are not told to wait",
          "[accounts][postgres]") {
  // A shift change: a room of operators behind one NAT address signs in at the same moment. Each
  // attempt counts in advance until it succeeds, and none of them has failed: nobody may be asked
  // to wait, however long an attempt waited for another to be checked (under a sanitizer, or on a
  // loaded machine, that is seconds).
  rig t;
  t.cfg.console.login_attempts_per_minute = 5;  // 50 for the address: more than sign in here
  auto& a = t.open();
  constexpr int operators = 12;
  for (int i = 0; i < operators; ++i)
    a.add_user("shift" + std::to_string(i), "Operator " + std::to_string(i), role::operator_role,
               "essex-fire", good_password);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> outcomes(operators);
    std::vector<std::thread> room;
    for (int i = 0; i < operators; ++i)
      room.emplace_back([&, i] {
        outcomes[static_cast<std::size_t>(i)] =
            error_id(a.login("shift" + std::to_string(i), good_password, "10.0.5.1"));
      });
    for (auto& th : room) th.join();
    for (int i = 0; i < operators; ++i) {
      INFO("round " << round << ", operator " << i);
      CHECK(outcomes[static_cast<std::size_t>(i)] == "ok");
    }
  }
}
