// System tests: GET /api/v1/reports/savings on the real bluelink-gateway binary, with console
// users signed in by cookie and calls already in the gateway's database.

#include <catch2/catch.hpp>

#include <string>

#include "gateway/core/time_util.hpp"
#include "gateway/service/accounts.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "gateway/store/sqlite/sqlite.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/failpoint_file.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using bl::test::eeast_ambulance;
using bl::test::essex_fire;
using bl::test::essex_police;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using nlohmann::json;

const std::string password = "a long enough password";

// The gateway's database with a manager, a Fire operator, and three Fire -> Police calls in
// April 2026 (one of them an exercise).
void prepare(gateway_process& gw) {
  {
    auto create =
        bl::store::open_writer(bl::store::store_options{gw.db_path().string(), false, 5000, {}});
  }
  const bl::gateway_config cfg = bl::test::agencies_config();
  bl::accounts accts(cfg, bl::store::open_sqlite_account_store(bl::store::store_options{
                              gw.db_path().string(), true, cfg.busy_timeout_ms, {}}));
  accts.add_user("manager", "Service Manager", bl::role::manager, "", password);
  accts.add_user("fire.operator", "Fire Operator", bl::role::operator_role, essex_fire, password);

  bl::store::db d(gw.db_path().string(), false, false);
  const auto at = bl::to_ms(*bl::parse_rfc3339("2026-04-10T09:00:00Z"));
  for (int exercise : {0, 0, 1}) {
    bl::store::stmt s(d,
                      "INSERT INTO calls(source, from_agency, to_agency, started_at, emergency,"
                      " reason, logged_by, exercise, created_at) VALUES('console', ?, ?, ?, 1,"
                      " 'police.traffic_management', 'fire.operator', ?, ?)");
    s.bind(1, essex_fire).bind(2, essex_police).bind(3, at).bind(4, exercise).bind(5, at);
    s.run();
  }
}

std::string cookie_of(http_client& c, const std::string& user) {
  return bl::test::sign_in(c, user, password).cookie;
}

http_response get(http_client& c, const std::string& cookie, const std::string& target) {
  return c.request_with("GET", target, {}, {{"Cookie", cookie}});
}

}  // namespace

TEST_CASE("a manager gets the savings report; other roles and bad months are refused",
          "[system][savings]") {
  gateway_process gw(json{{"savings", {{"go_live", "2026-04-01"}}}}, false);
  prepare(gw);
  gw.start();
  http_client c(gw.port());
  const auto manager = cookie_of(c, "manager");

  SECTION("JSON, with the month's calls and the exercise call left out") {
    auto r = get(c, manager, "/api/v1/reports/savings?from=2026-04&to=2026-05");
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.json["period"] == json{{"from", "2026-04"}, {"to", "2026-05"}, {"months", 2}});
    REQUIRE(r.json["months"].size() == 2);
    const auto& row = r.json["months"][0]["directions"][0];
    CHECK(row["from"] == essex_fire);
    CHECK(row["to"] == essex_police);
    CHECK(row["calls"]["total"] == 2);
    CHECK(row["calls"]["emergency"] == 2);
    CHECK(r.json["excluded"]["exercise_calls"] == 1);
    CHECK(r.json["settings"]["go_live"] == "2026-04-01");
    CHECK(r.json["methods"]["volume"]["text"].is_string());
  }
  SECTION("CSV as an attachment, starting with its header row") {
    auto r = get(c, manager, "/api/v1/reports/savings?from=2026-04&to=2026-04&format=csv");
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").rfind("text/csv", 0) == 0);
    CHECK(r.header("Content-Disposition") ==
          "attachment; filename=\"savings-2026-04-to-2026-04.csv\"");
    CHECK(r.body.rfind("row,period,financial_year,from,to,calls,emergency_calls,", 0) == 0);
    CHECK(r.body.find("month,2026-04,2026/27,essex-fire,essex-police,2,2,0,") != std::string::npos);
  }
  SECTION("the printable page allows its own style and nothing else") {
    auto r = get(c, manager, "/api/v1/reports/savings?from=2026-04&to=2026-04&format=html");
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").rfind("text/html", 0) == 0);
    auto csp = r.header("Content-Security-Policy");
    CHECK(csp.find("default-src 'none'; style-src 'sha256-") == 0);
    CHECK(r.body.find("<script") == std::string::npos);
  }
  SECTION("an operator, or an integration's token, may not see it") {
    auto op = get(c, cookie_of(c, "fire.operator"), "/api/v1/reports/savings");
    CHECK(op.status == 403);
    CHECK(op.json["error"]["code"] == "bl.auth.forbidden_role");
    auto token = c.get("/api/v1/reports/savings", gateway_process::token(essex_fire));
    CHECK(token.status == 403);
    CHECK(token.json["error"]["code"] == "bl.auth.forbidden_role");
  }
  SECTION("a bad month, a reversed or too long period, or an unknown format is a 400 naming it") {
    auto bad = get(c, manager, "/api/v1/reports/savings?from=2026-13&to=2027-03");
    INFO(bad.body);
    CHECK(bad.status == 400);
    CHECK(bad.json["error"]["code"] == "bl.request.bad_parameter");
    CHECK(bad.json["error"]["pointer"] == "from");
    CHECK(bad.json["error"]["message"].get<std::string>().find("'2026-13'") != std::string::npos);
    auto reversed = get(c, manager, "/api/v1/reports/savings?from=2027-04&to=2027-03");
    CHECK(reversed.status == 400);
    CHECK(reversed.json["error"]["message"].get<std::string>().find("2027-04") !=
          std::string::npos);
    auto long_period = get(c, manager, "/api/v1/reports/savings?from=2016-01&to=2026-01");
    CHECK(long_period.status == 400);
    CHECK(long_period.json["error"]["message"].get<std::string>().find("at most 120 months") !=
          std::string::npos);
    auto format = get(c, manager, "/api/v1/reports/savings?format=pdf");
    CHECK(format.status == 400);
    CHECK(format.json["error"]["pointer"] == "format");
  }
  SECTION("without from and to, the last 12 months up to this one") {
    auto r = get(c, manager, "/api/v1/reports/savings");
    REQUIRE(r.status == 200);
    CHECK(r.json["period"]["months"] == 12);
    CHECK(r.json["period"]["to"] == bl::uk_month_of(bl::now_ms()).str());
  }
}

TEST_CASE("a savings report the store cannot read is a coded 503, logged and counted on /metrics",
          "[system][savings][failure]") {
  gateway_process gw(json{{"savings", {{"go_live", "2026-04-01"}}}}, false);
  bl::test::failpoint_file failpoints(gw.dir() / "failpoints");
  prepare(gw);
  gw.start();
  http_client c(gw.port());
  const auto manager = cookie_of(c, "manager");
  CHECK_THAT(c.get("/metrics", "").body,
             !Catch::Contains("bluelink_report_failures_total{code=\"bl.store.unavailable\"}"));

  failpoints.arm("reports.store_unavailable");
  auto r = get(c, manager, "/api/v1/reports/savings?from=2026-04&to=2026-05");
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(r.json["error"]["code"] == "bl.store.unavailable");
  CHECK_THAT(gw.stderr_text(),
             Catch::Contains("event=savings_report_failed user=\"manager\" from=2026-04 to=2026-05 "
                             "code=bl.store.unavailable kind=unavailable error=\"injected store "
                             "failure"));
  CHECK_THAT(c.get("/metrics", "").body,
             Catch::Contains("bluelink_report_failures_total{code=\"bl.store.unavailable\"} 1"));

  // The store back: the report is made again, and the failure stays counted.
  failpoints.disarm();
  CHECK(get(c, manager, "/api/v1/reports/savings?from=2026-04&to=2026-05").status == 200);
  CHECK_THAT(c.get("/metrics", "").body,
             Catch::Contains("bluelink_report_failures_total{code=\"bl.store.unavailable\"} 1"));
}
