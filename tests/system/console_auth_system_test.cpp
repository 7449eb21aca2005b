// System tests: console sign-in against the real bluelink-gateway binary. Users are created
// before the gateway starts, with the `bluelink user` CLI and with the accounts class, on the
// gateway's own database; the browser's requests are replayed with its cookie and headers.

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include <sys/wait.h>

#include "gateway/service/accounts.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using bl::test::console_session;
using bl::test::eeast_ambulance;
using bl::test::error_code;
using bl::test::essex_fire;
using bl::test::essex_police;
using bl::test::gateway_process;
using bl::test::header_list;
using bl::test::http_client;
using bl::test::http_response;
using nlohmann::json;

const std::string password = "a long enough password";

/// Runs the CLI with `stdin_text` on its standard input (none when empty: a command that fails
/// before reading must not leave the test writing into a closed pipe); returns its exit code.
int run_cli(const std::string& args, const std::string& stdin_text = {}) {
  std::string cmd = std::string(BL_CLI_BIN) + " " + args + " >/dev/null 2>&1";
  if (stdin_text.empty()) {
    int status = std::system((cmd + " </dev/null").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  FILE* p = ::popen(cmd.c_str(), "w");
  REQUIRE(p != nullptr);
  std::fputs(stdin_text.c_str(), p);
  int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// The gateway's database with three console users: a Police operator (added with the CLI), a
/// Fire operator and a manager.
void add_users(gateway_process& gw) {
  const auto cli_config = gw.dir() / "cli-config.json";
  std::ofstream(cli_config) << gw.config().dump(2);
  const std::string common = "user add --config " + cli_config.string() + " --database " +
                             gw.db_path().string() + " --password-stdin ";
  // The CLI creates and migrates the database that does not exist yet.
  REQUIRE(run_cli(common + "--username police.operator --name 'Police Operator' --role operator "
                           "--agency essex-police",
                  password + "\n") == 0);
  CHECK(run_cli(common + "--username x.y --name X --role chief") == 2);
  CHECK(run_cli(common + "--username x.y --name X --role manager", "short\n") == 2);

  const bl::gateway_config cfg = bl::test::agencies_config();
  bl::accounts accts(cfg, bl::store::open_sqlite_account_store(bl::store::store_options{
                              gw.db_path().string(), true, cfg.busy_timeout_ms, {}}));
  accts.add_user("fire.operator", "Fire Operator", bl::role::operator_role, essex_fire, password);
  accts.add_user("manager", "Service Manager", bl::role::manager, "", password);
}

console_session sign_in(http_client& c, const std::string& user, int expected_status = 200) {
  return bl::test::sign_in(c, user, password, expected_status);
}

}  // namespace

TEST_CASE("a console user signs in with a cookie and acts within its agency and role",
          "[system][console]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  gw.start();
  http_client c(gw.port());

  auto police = sign_in(c, "Police.Operator");
  const auto set_cookie = police.reply.header("Set-Cookie");
  CHECK(police.cookie.rfind("bl_session=", 0) == 0);
  CHECK(set_cookie.find("HttpOnly") != std::string::npos);
  CHECK(set_cookie.find("SameSite=Strict") != std::string::npos);
  CHECK(police.reply.json["user"]["username"] == "police.operator");
  CHECK(police.reply.json["user"]["agency"] == essex_police);
  // The sign-in itself never echoes the password, and the token is only in the cookie.
  CHECK(police.reply.body.find(password) == std::string::npos);
  CHECK(police.reply.body.find(police.cookie.substr(11)) == std::string::npos);

  SECTION("the cookie resolves to the user") {
    auto r = c.request_with("GET", "/api/v1/session", {}, {{"Cookie", police.cookie}});
    REQUIRE(r.status == 200);
    CHECK(r.json["user"]["role"] == "operator");
    CHECK(r.json["csrf_token"] == police.csrf);
  }

  SECTION("a state-changing request needs the anti-forgery token") {
    const auto msg = bl::test::forced_entry_request(bl::test::new_message_id(essex_police));
    auto bare = c.request_with("POST", "/api/v1/messages", msg.dump(), {{"Cookie", police.cookie}});
    CHECK(bare.status == 403);
    CHECK(error_code(bare) == "bl.auth.csrf");
    auto wrong = c.request_with("POST", "/api/v1/messages", msg.dump(),
                                {{"Cookie", police.cookie}, {"X-CSRF-Token", "guess"}});
    CHECK(error_code(wrong) == "bl.auth.csrf");
    auto ok = c.request_with("POST", "/api/v1/messages", msg.dump(),
                             {{"Cookie", police.cookie},
                              {"X-CSRF-Token", police.csrf},
                              {"Origin", "http://127.0.0.1:" + std::to_string(gw.port())}});
    INFO(ok.body);
    CHECK(ok.status == 202);
  }

  SECTION("a request from another site's page is refused") {
    auto r = c.request_with("GET", "/api/v1/session", {},
                            {{"Cookie", police.cookie}, {"Origin", "https://evil.example"}});
    CHECK(r.status == 403);
    CHECK(error_code(r) == "bl.auth.bad_origin");
    auto login =
        c.request_with("POST", "/api/v1/session",
                       json{{"username", "police.operator"}, {"password", password}}.dump(),
                       {{"Origin", "https://evil.example"}});
    CHECK(login.status == 403);
    CHECK(error_code(login) == "bl.auth.bad_origin");
  }

  SECTION("an operator cannot read another agencies' transfer") {
    auto sent = c.post("/api/v1/messages",
                       bl::test::casualty_care_request(bl::test::new_message_id(essex_fire)),
                       gateway_process::token(essex_fire));
    REQUIRE(sent.status == 202);
    const std::string tid = sent.json.at("receipt").at("transfer_id");
    auto r = c.request_with("GET", "/api/v1/transfers/" + tid, {}, {{"Cookie", police.cookie}});
    INFO(r.body);
    CHECK((r.status == 403 || r.status == 404));
    auto fire = sign_in(c, "fire.operator");
    auto own = c.request_with("GET", "/api/v1/transfers/" + tid, {}, {{"Cookie", fire.cookie}});
    CHECK(own.status == 200);
  }

  SECTION("after signing out the cookie no longer works") {
    auto out = c.request_with("DELETE", "/api/v1/session", {},
                              {{"Cookie", police.cookie}, {"X-CSRF-Token", police.csrf}});
    CHECK(out.status == 204);
    CHECK(out.header("Set-Cookie").find("Max-Age=0") != std::string::npos);
    auto r = c.request_with("GET", "/api/v1/session", {}, {{"Cookie", police.cookie}});
    CHECK(r.status == 401);
    CHECK(error_code(r) == "bl.auth.session_expired");
  }

  SECTION("a manager has no transfers") {
    auto boss = sign_in(c, "manager");
    CHECK(boss.reply.json["user"]["agency"].is_null());
    auto r = c.request_with("GET", "/api/v1/transfers", {}, {{"Cookie", boss.cookie}});
    CHECK(r.status == 403);
    CHECK(error_code(r) == "bl.auth.forbidden_role");
  }
}

TEST_CASE("repeated wrong passwords are slowed with 429 before they are checked",
          "[system][console]") {
  gateway_process gw(json{{"console", {{"login_attempts_per_minute", 5}}}}, false);
  add_users(gw);
  gw.start();
  http_client c(gw.port());
  auto attempt = [&](const std::string& pw) {
    return c.request_with("POST", "/api/v1/session",
                          json{{"username", "fire.operator"}, {"password", pw}}.dump(), {});
  };
  for (int i = 0; i < 5; ++i) {
    auto r = attempt("wrong password " + std::to_string(i));
    CHECK(r.status == 401);
    CHECK(error_code(r) == "bl.auth.login_failed");
  }
  auto sixth = attempt("wrong password 5");
  CHECK(sixth.status == 429);
  CHECK(error_code(sixth) == "bl.auth.rate_limited");
  // Even the right password waits out the back-off (one second after the fifth failure)...
  CHECK(attempt(password).status == 429);
  // ...but the account is never locked: once the wait is over, its owner signs in.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(attempt(password).status == 200);
  // The gateway's log names the user but never the password.
  CHECK(gw.stderr_text().find("wrong password") == std::string::npos);
  CHECK(gw.stderr_text().find("fire.operator") != std::string::npos);
}

TEST_CASE("a supervisor manages their own agency's operators and an admin manages everyone",
          "[system][console][users]") {
  gateway_process gw(json::object(), false);
  add_users(gw);
  {
    const bl::gateway_config cfg = bl::test::agencies_config();
    bl::accounts accts(cfg, bl::store::open_sqlite_account_store(bl::store::store_options{
                                gw.db_path().string(), true, cfg.busy_timeout_ms, {}}));
    accts.add_user("fire.supervisor", "Fire Supervisor", bl::role::supervisor, essex_fire,
                   password);
    accts.add_user("admin", "Admin", bl::role::admin, "", password);
  }
  gw.start();
  http_client c(gw.port());
  auto with = [](const console_session& s) {
    return header_list{{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf}};
  };

  auto sup = sign_in(c, "fire.supervisor");
  auto list = c.request_with("GET", "/api/v1/users", {}, with(sup));
  REQUIRE(list.status == 200);
  // Only Fire's accounts: the supervisor and the Fire operator, not Police's or the manager.
  std::vector<std::string> names;
  for (const auto& u : list.json["users"]) names.push_back(u["username"]);
  CHECK(names == std::vector<std::string>{"fire.operator", "fire.supervisor"});

  // A new operator gets a generated password, shown once, and can sign in with it.
  auto added = c.request_with(
      "POST", "/api/v1/users",
      json{{"username", "fire.op2"}, {"display_name", "Jo Fire"}, {"role", "operator"}}.dump(),
      with(sup));
  INFO(added.body);
  REQUIRE(added.status == 201);
  CHECK(added.json["user"]["agency"] == essex_fire);
  const std::string generated = added.json.at("password");
  CHECK(generated.size() == 20);
  auto jo = c.request_with("POST", "/api/v1/session",
                           json{{"username", "fire.op2"}, {"password", generated}}.dump(), {});
  CHECK(jo.status == 200);
  CHECK(gw.stderr_text().find(generated) == std::string::npos);

  // Out of bounds for a supervisor: other roles, other agencies, other agencies' users.
  auto boss = c.request_with(
      "POST", "/api/v1/users",
      json{{"username", "new.manager"}, {"display_name", "M"}, {"role", "manager"}}.dump(),
      with(sup));
  CHECK(boss.status == 403);
  CHECK(error_code(boss) == "bl.auth.forbidden_role");
  CHECK(boss.json["error"]["pointer"] == "/role");
  auto elsewhere = c.request_with("POST", "/api/v1/users",
                                  json{{"username", "p.op"},
                                       {"display_name", "P"},
                                       {"role", "operator"},
                                       {"agency", essex_police}}
                                      .dump(),
                                  with(sup));
  CHECK(error_code(elsewhere) == "bl.auth.forbidden_role");
  auto police_op = c.request_with("PATCH", "/api/v1/users/police.operator",
                                  json{{"disabled", true}}.dump(), with(sup));
  CHECK(police_op.status == 404);
  auto self = c.request_with("PATCH", "/api/v1/users/fire.supervisor",
                             json{{"disabled", true}}.dump(), with(sup));
  CHECK(error_code(self) == "bl.auth.forbidden_role");
  auto dup = c.request_with(
      "POST", "/api/v1/users",
      json{{"username", "FIRE.OP2"}, {"display_name", "Again"}, {"role", "operator"}}.dump(),
      with(sup));
  CHECK(dup.status == 400);
  CHECK(dup.json["error"]["pointer"] == "/username");
  auto bad =
      c.request_with("PATCH", "/api/v1/users/fire.op2", json{{"colour", "red"}}.dump(), with(sup));
  CHECK(bad.status == 422);  // schema: no such property

  // Disabling an operator ends their sessions; a new password works and the old one does not.
  auto off =
      c.request_with("PATCH", "/api/v1/users/fire.op2", json{{"disabled", true}}.dump(), with(sup));
  REQUIRE(off.status == 200);
  CHECK(off.json["user"]["disabled"] == true);
  auto jo_session = jo.header("Set-Cookie");
  auto after = c.request_with("GET", "/api/v1/session", {},
                              {{"Cookie", jo_session.substr(0, jo_session.find(';'))}});
  CHECK(after.status == 401);
  CHECK(
      c.request_with("PATCH", "/api/v1/users/fire.op2", json{{"disabled", false}}.dump(), with(sup))
          .status == 200);
  auto reset = c.request_with("PATCH", "/api/v1/users/fire.op2",
                              json{{"new_password", true}}.dump(), with(sup));
  REQUIRE(reset.status == 200);
  CHECK(reset.json.at("password") != generated);
  CHECK(c.request_with("POST", "/api/v1/session",
                       json{{"username", "fire.op2"}, {"password", generated}}.dump(), {})
            .status == 401);

  // Operators and managers manage no one; an admin sees and manages everyone.
  auto op = sign_in(c, "fire.operator");
  CHECK(error_code(c.request_with("GET", "/api/v1/users", {}, with(op))) ==
        "bl.auth.forbidden_role");
  auto admin = sign_in(c, "admin");
  auto all = c.request_with("GET", "/api/v1/users", {}, with(admin));
  CHECK(all.json["users"].size() == 6);
  auto m = c.request_with("POST", "/api/v1/users",
                          json{{"username", "finance"},
                               {"display_name", "Finance Officer"},
                               {"role", "manager"},
                               {"password", "a manager's own password"}}
                              .dump(),
                          with(admin));
  INFO(m.body);
  CHECK(m.status == 201);
  CHECK_FALSE(m.json.contains("password"));
  auto police_off = c.request_with("PATCH", "/api/v1/users/police.operator",
                                   json{{"disabled", true}}.dump(), with(admin));
  CHECK(police_off.status == 200);
}
