// The personal-data access log (issue 18, DPA 2018 s.62) through the real gateway binary and CLI:
// every way of reading a transfer's content (the console's list and detail, the API's, the call
// list, an original document, the access log itself, the CLI) is logged with the right actor,
// agency and channel before it is answered; a transfer's collection and disclosure are logged by
// the engine; supervisors read their own agency's entries only, admins everyone's, operators and
// integrations none; CSV exports; `bluelink audit verify` checks the log; and a read the log
// cannot record is refused rather than answered unlogged.

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/service/accounts.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/failpoint_file.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace access_log_system {

using nlohmann::json;
using namespace bl::test;

const std::string password = "a long enough password";

void add_users(gateway_process& gw) {
  bl::test::add_users(gw.db_path(),
                      {{"police.op", "Kim Hall", bl::role::operator_role, essex_police},
                       {"police.sup", "Sam Lee", bl::role::supervisor, essex_police},
                       {"fire.sup", "Alex Ray", bl::role::supervisor, essex_fire},
                       {"admin", "Admin", bl::role::admin, ""}},
                      password);
}

http_response get_as(http_client& c, const console_session& s, const std::string& target) {
  return c.request_with("GET", target, {}, {{"Cookie", s.cookie}});
}

/// The entries of an access-log reply, as (operation, object, actor, channel) strings.
std::vector<std::string> shapes(const json& reply) {
  std::vector<std::string> out;
  for (const auto& e : reply.at("entries"))
    out.push_back(e.at("operation").get<std::string>() + " " + e.at("object").get<std::string>() +
                  " " + e.at("actor").get<std::string>() + " " +
                  e.at("channel").get<std::string>());
  return out;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace access_log_system

TEST_CASE("every read of a transfer's content is in the access log, which supervisors query",
          "[system][access_log][personal_data]") {
  using namespace access_log_system;
  gateway_process gw(json::object(), false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  gw.start();
  add_users(gw);
  http_client c(gw.port());
  const std::string fire = gateway_process::token(essex_fire);
  const std::string police = gateway_process::token(essex_police);

  // Fire's CAD sends a request; a Police operator reads it in the console; Police's integration
  // reads it over the API; the operator logs a call about it and lists the calls.
  auto sent = c.post("/api/v1/messages", rtc_request(new_message_id(essex_fire, "al")), fire);
  REQUIRE(sent.status == 202);
  const std::string transfer = sent.json["receipt"]["transfer_id"].get<std::string>();
  auto op = sign_in(c, "police.op", password);
  REQUIRE(get_as(c, op, "/api/v1/transfers").status == 200);
  REQUIRE(get_as(c, op, "/api/v1/transfers/" + transfer).status == 200);
  REQUIRE(c.get("/api/v1/transfers/" + transfer, police).status == 200);
  auto call = c.request_with("POST", "/api/v1/calls",
                             json{{"direction", "incoming"},
                                  {"other_agency", essex_fire},
                                  {"emergency", true},
                                  {"reason", "police.traffic_management"},
                                  {"transfer_id", transfer}}
                                 .dump(),
                             {{"Cookie", op.cookie},
                              {"X-CSRF-Token", op.csrf},
                              {"Origin", "http://127.0.0.1:" + std::to_string(gw.port())},
                              {"Content-Type", "application/json"}});
  INFO(call.body);
  REQUIRE(call.status == 201);
  REQUIRE(get_as(c, op, "/api/v1/calls").status == 200);

  // A Police supervisor: who read transfer T (Police's side only).
  auto sup = sign_in(c, "police.sup", password);
  auto who = get_as(c, sup, "/api/v1/access-log?transfer=" + transfer);
  INFO(who.body);
  REQUIRE(who.status == 200);
  CHECK(who.json["agency"] == essex_police);
  auto seen = shapes(who.json);
  CHECK(has(seen, "consult transfer_list police.op console"));
  CHECK(has(seen, "consult transfer police.op console"));
  CHECK(has(seen, "consult transfer essex-police api"));
  CHECK(has(seen, "combine call police.op console"));
  CHECK(has(seen, "consult call_list police.op console"));
  for (const auto& e : who.json["entries"]) {
    CHECK(e["agency"] == essex_police);  // none of Fire's entries
    CHECK(e["transfer_id"] == transfer);
  }
  // Detail, newest first.
  const json& newest = who.json["entries"][0];
  CHECK(newest["operation"] == "consult");
  CHECK(newest["object"] == "call_list");
  CHECK(newest["actor_kind"] == "user");
  CHECK(newest["justification"] == "a call of the agency's");

  // What did police.op look at; their own query of the log is there too, after it.
  auto by_user = get_as(c, sup, "/api/v1/access-log?user=police.op&operation=consult");
  REQUIRE(by_user.status == 200);
  CHECK(by_user.json["entries"].size() == 3);  // the list, the detail, the call list
  auto mine = get_as(c, sup, "/api/v1/access-log?user=police.sup");
  REQUIRE(mine.status == 200);
  REQUIRE(mine.json["entries"].size() >= 2);
  CHECK(mine.json["entries"][0]["object"] == "access_log");
  // The query as it ran: a supervisor's is always for their own agency.
  CHECK(mine.json["entries"][0]["ref"] == "user=police.op&operation=consult&agency=essex-police");

  // Fire's supervisor sees Fire's collection and its disclosure to Police, not Police's reads.
  auto fire_sup = sign_in(c, "fire.sup", password);
  auto fire_view = get_as(c, fire_sup, "/api/v1/access-log?transfer=" + transfer);
  REQUIRE(fire_view.status == 200);
  auto fire_seen = shapes(fire_view.json);
  CHECK(fire_seen == std::vector<std::string>{"disclose message essex-fire api",
                                              "collect message essex-fire api"});
  CHECK(fire_view.json["entries"][0]["recipients"] == essex_police);
  CHECK(error_code(get_as(c, fire_sup, "/api/v1/access-log?agency=essex-police")) ==
        "bl.auth.forbidden_role");

  // Operators and integrations read no access log at all.
  CHECK(error_code(get_as(c, op, "/api/v1/access-log")) == "bl.auth.forbidden_role");
  CHECK(error_code(c.get("/api/v1/access-log", police)) == "bl.auth.forbidden_role");
  CHECK(error_code(get_as(c, sup, "/api/v1/access-log?operation=peek")) ==
        "bl.request.bad_parameter");
  CHECK(error_code(get_as(c, sup, "/api/v1/access-log?since=yesterday")) ==
        "bl.request.bad_parameter");

  // An admin reads every agency's, one agency's on asking; CSV for a spreadsheet.
  auto admin = sign_in(c, "admin", password);
  auto everyone = get_as(c, admin, "/api/v1/access-log?transfer=" + transfer);
  REQUIRE(everyone.status == 200);
  CHECK(everyone.json["agency"].is_null());
  CHECK(everyone.json["entries"].size() ==
        who.json["entries"].size() + fire_view.json["entries"].size());
  auto csv = get_as(c, admin, "/api/v1/access-log?agency=essex-police&format=csv&limit=3");
  REQUIRE(csv.status == 200);
  CHECK(csv.header("Content-Type").rfind("text/csv", 0) == 0);
  CHECK(csv.header("Content-Disposition").find("access-log-essex-police.csv") != std::string::npos);
  CHECK(csv.body.rfind("seq,at,operation,agency,actor,actor_kind,channel,object,transfer_id,"
                       "ref,recipients,justification\r\n",
                       0) == 0);
  CHECK(std::count(csv.body.begin(), csv.body.end(), '\n') == 4);

  // The CLI: the same query, itself logged; then the chain and the log verify.
  auto cli = run_cli(gw.dir(), {"access-log", "query", "--database", gw.db_path().string(),
                                "--transfer", transfer, "--format", "json"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  CHECK(cli.out.find("\"actor\":\"police.op\"") != std::string::npos);
  CHECK(cli.err.find("access-log entries") != std::string::npos);
  auto after_cli = get_as(c, admin, "/api/v1/access-log?operation=consult&limit=2");
  REQUIRE(after_cli.status == 200);
  bool cli_logged = false;
  for (const auto& e : after_cli.json["entries"])
    if (e["channel"] == "cli" && e["object"] == "access_log" && e["actor_kind"] == "cli")
      cli_logged = true;
  CHECK(cli_logged);
  CHECK(run_cli(gw.dir(),
                {"access-log", "query", "--database", gw.db_path().string(), "--operation", "peek"})
            .exit_code == 2);
  auto verified = run_cli(gw.dir(), {"audit", "verify", "--database", gw.db_path().string()});
  INFO(verified.out);
  CHECK(verified.exit_code == 0);
  CHECK(verified.out.find("the access log matches its rows") != std::string::npos);

  // A read is answered once its entries are queued; the queue goes to the store every 20 ms.
  // When the store refuses a batch, the batch is kept and every read is refused until it goes
  // through (nothing more is shown that the log might not hold); then it is written, nothing lost.
  failpoints.arm("engine.commit_busy");
  http_response refused;
  int answered = 0;  // reads answered before the first refusal (queued before the store failed)
  for (int i = 0; i < 300; ++i) {
    refused = get_as(c, op, "/api/v1/transfers/" + transfer);
    if (refused.status != 200) break;
    ++answered;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  INFO(refused.body);
  CHECK(refused.status == 503);
  CHECK(error_code(refused) == "bl.store.unavailable");
  CHECK(refused.body.find("\"priority\"") == std::string::npos);  // nothing of the transfer
  CHECK(gw.stderr_text().find("event=access_log_failed") != std::string::npos);
  CHECK(gw.stderr_text().find("event=access_log_refused") != std::string::npos);
  // Not silent: /healthz says the log is failing and why, /metrics counts it.
  http_client monitor(gw.port());
  auto failing = monitor.get("/healthz", "");
  CHECK(failing.status == 503);
  CHECK(failing.json["access_log"] == "failing");
  CHECK_THAT(failing.json["access_log_error"].get<std::string>(), Catch::Contains("bl.store"));
  CHECK_THAT(monitor.get("/metrics", "").body, Catch::Contains("bluelink_access_log_failing 1"));
  failpoints.disarm();
  bool back = false;
  for (int i = 0; i < 500 && !back; ++i) {
    back = get_as(c, op, "/api/v1/transfers/" + transfer).status == 200;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(back);
  CHECK(gw.stderr_text().find("event=access_log_recovered") != std::string::npos);
  // Every read that was answered is in the log: the one before, those answered as the store
  // failed (kept and written once it came back), and the one after.
  auto reads = get_as(
      c, admin,
      "/api/v1/access-log?user=police.op&operation=consult&transfer=" + transfer + "&limit=1000");
  REQUIRE(reads.status == 200);
  int details = 0;
  for (const auto& e : reads.json["entries"])
    if (e["object"] == "transfer") ++details;
  CHECK(details == 1 + answered + 1);
  auto verified_after = run_cli(gw.dir(), {"audit", "verify", "--database", gw.db_path().string()});
  CHECK(verified_after.exit_code == 0);
  bool healthy = false;
  for (int i = 0; i < 100 && !healthy; ++i) {
    auto h = monitor.get("/healthz", "");
    healthy = h.status == 200 && h.json["access_log"] == "ok";
    if (!healthy) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(healthy);

  // The queue's thread ends on a fault: reads are refused at once, and the gateway fails as for
  // any long-lived thread (degraded naming the access log, drained, exit 5 for a restart).
  failpoints.arm("access_log.thread_exception");
  const http_response dead = wait_degraded(monitor, "the access log's thread ending");
  CHECK(dead.json["failed"] == "access_log");
  CHECK(gw.wait_exit(std::chrono::seconds(40)) == 5);
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=access_log_thread_failed"));
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=component_failed component=access_log"));
  failpoints.disarm();
}
