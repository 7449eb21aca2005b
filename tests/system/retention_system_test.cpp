// Retention through the real gateway and CLI (issue 18, docs/data-protection.md): legal holds over
// the API (supervisors of a party and admins only, with reasons, logged), the periods shown, the
// CLI's dry run (now and as of a later date), and the gateway's own scheduled purge taking what
// is past its period and leaving what is held, with the audit chain still verifying.

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/service/accounts.hpp"
#include "gateway/store/sqlite/account_store.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/failpoint_file.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/test_helpers.hpp"

namespace retention_system {

using nlohmann::json;
using namespace bl::test;

const std::string password = "a long enough password";

void add_users(gateway_process& gw) {
  bl::test::add_users(gw.db_path(),
                      {{"police.op", "Kim Hall", bl::role::operator_role, essex_police},
                       {"police.sup", "Sam Lee", bl::role::supervisor, essex_police},
                       {"admin", "Admin", bl::role::admin, ""}},
                      password);
}

}  // namespace retention_system

TEST_CASE(
    "legal holds over the API, the CLI's dry run, and the gateway's scheduled purge taking what "
    "is past its period but not what is held",
    "[system][retention][personal_data]") {
  using namespace retention_system;
  gateway_process gw(
      json{{"retention", {{"transfers_days", 30}, {"calls_days", 30}, {"logs_days", 30}}}}, false);
  gw.start();
  add_users(gw);
  http_client c(gw.port());
  const std::string fire = gateway_process::token(essex_fire);
  const std::string police = gateway_process::token(essex_police);
  auto send = [&](const std::string& tag, const std::string& summary) {
    auto doc = rtc_request(new_message_id(essex_fire, tag));
    doc["body"]["summary"] = summary;
    auto sent = c.post("/api/v1/messages", doc, fire);
    REQUIRE(sent.status == 202);
    return sent.json["receipt"]["transfer_id"].get<std::string>();
  };
  const auto purged = send("ret-a", "Caller Jane Doe on 07700 900123, driver trapped");
  const auto kept = send("ret-b", "Caller John Roe, 1 High Street");

  // Holds: an operator may not; a Police supervisor may, once, with a reason; the reason is
  // Police's, Fire sees only that one stands.
  auto op = sign_in(c, "police.op", password);
  auto sup = sign_in(c, "police.sup", password);
  const std::string holds = "/api/v1/holds";
  const std::string hold = "/api/v1/holds/" + kept;
  const json place = {{"transfer_id", kept}, {"reason", "Coroner's inquest 2026/114"}};
  auto refused = as_user(c, op, "POST", holds, place, gw.port());
  CHECK(refused.status == 403);
  CHECK(error_code(refused) == "bl.auth.forbidden_role");
  auto no_reason = as_user(c, sup, "POST", holds, {{"transfer_id", kept}}, gw.port());
  CHECK(no_reason.status == 422);
  auto placed = as_user(c, sup, "POST", holds, place, gw.port());
  INFO(placed.body);
  REQUIRE(placed.status == 201);
  CHECK(placed.json["hold"]["placed_by"] == "police.sup");
  auto again = as_user(c, sup, "POST", holds, place, gw.port());
  CHECK(again.status == 409);
  CHECK(error_code(again) == "bl.hold.exists");
  auto police_view = c.get("/api/v1/transfers/" + kept, police);
  REQUIRE(police_view.status == 200);
  CHECK(police_view.json["transfer"]["retention"]["held"] == true);
  CHECK(police_view.json["transfer"]["retention"]["hold"]["reason"] ==
        "Coroner's inquest 2026/114");
  CHECK_FALSE(police_view.json["transfer"]["retention"]["purge_due"].is_null());
  auto fire_view = c.get("/api/v1/transfers/" + kept, fire);
  CHECK(fire_view.json["transfer"]["retention"]["held"] == true);
  CHECK(fire_view.json["transfer"]["retention"]["hold"]["reason"].is_null());
  bool on_timeline = false;
  for (const auto& e : fire_view.json["transfer"]["timeline"])
    if (e["kind"] == "legal_hold") on_timeline = true;
  CHECK(on_timeline);
  // Lifted and placed again (both logged); lifting none is 404.
  auto lifted = as_user(c, sup, "DELETE", hold, {{"reason", "Placed in error"}}, gw.port());
  CHECK(lifted.status == 200);
  auto none = as_user(c, sup, "DELETE", hold, {{"reason", "Again"}}, gw.port());
  CHECK(none.status == 404);
  CHECK(error_code(none) == "bl.hold.not_found");
  REQUIRE(as_user(c, sup, "POST", holds, place, gw.port()).status == 201);
  CHECK(gw.query_int("SELECT count(*) FROM audit WHERE action IN ('hold.placed', 'hold.lifted')") ==
        3);

  // The periods, for every signed-in user.
  auto periods = c.get("/api/v1/retention", police);
  REQUIRE(periods.status == 200);
  CHECK(periods.json["agencies"][0]["transfers_days"] == 30);

  // The CLI's dry run: nothing due now; both due a month on (one held); nothing changed.
  const auto cfg = gw.config_path().string();
  auto now_run = run_cli(gw.dir(), {"purge", "--config", cfg, "--dry-run"});
  INFO(now_run.out << now_run.err);
  CHECK(now_run.exit_code == 0);
  CHECK_THAT(now_run.out, Catch::Contains("0 transfers past their period"));
  const auto month_on = bl::format_rfc3339(bl::now_ms() + std::chrono::hours(24 * 31));
  auto later = run_cli(gw.dir(), {"purge", "--config", cfg, "--dry-run", "--as-of", month_on});
  INFO(later.out << later.err);
  CHECK(later.exit_code == 0);
  CHECK_THAT(later.out, Catch::Contains("2 transfers past their period (1 under a legal hold"));
  CHECK(run_cli(gw.dir(), {"purge", "--config", cfg, "--as-of", month_on}).exit_code == 2);
  CHECK(gw.query_int("SELECT count(*) FROM transfers WHERE purged_at IS NOT NULL") == 0);

  // A month passes (the rows aged in the store while the gateway is stopped); at its start the
  // gateway purges what is past its period, and keeps what is held.
  gw.kill(SIGTERM);
  REQUIRE(gw.wait_exit() == 0);
  const std::string month_ms = std::to_string(31LL * 86'400'000);
  gw.store().exec("UPDATE transfers SET updated_at = updated_at - " + month_ms +
                  ", created_at = created_at - " + month_ms);
  gw.start();
  http_client c2(gw.port());  // the restarted gateway's port
  // (An earlier pass of the first run, if it had time, purged nothing.)
  REQUIRE(eventually(
      [&] {
        return gw.stderr_text().find("transfers_purged=1 transfers_held=1") != std::string::npos;
      },
      std::chrono::seconds(40)));
  auto gone = c2.get("/api/v1/transfers/" + purged, fire);
  REQUIRE(gone.status == 200);
  CHECK_FALSE(gone.json["transfer"]["retention"]["purged_at"].is_null());
  CHECK(gone.body.find("Jane") == std::string::npos);
  CHECK(gone.body.find("07700") == std::string::npos);
  auto still = c2.get("/api/v1/transfers/" + kept, fire);
  CHECK(still.body.find("John Roe") != std::string::npos);
  CHECK_THAT(c2.get("/metrics", "").body,
             Catch::Contains("bluelink_retention_purged_total{kind=\"transfers\"} 1"));

  // The erasure is in the access log, for both parties, by the gateway.
  auto admin = sign_in(c2, "admin", password);
  auto erased = as_user(c2, admin, "GET", "/api/v1/access-log?operation=erase&transfer=" + purged,
                        nullptr, gw.port());
  REQUIRE(erased.status == 200);
  CHECK(erased.json["entries"].size() == 2);
  for (const auto& e : erased.json["entries"]) CHECK(e["actor"] == "bluelink");

  // The audit chain still verifies; the CLI's own purge finds nothing more to do (the hold).
  auto verified = run_cli(gw.dir(), {"audit", "verify", "--config", cfg});
  INFO(verified.out << verified.err);
  CHECK(verified.exit_code == 0);
  auto by_hand = run_cli(gw.dir(), {"purge", "--config", cfg});
  INFO(by_hand.out << by_hand.err);
  CHECK(by_hand.exit_code == 0);
  CHECK_THAT(by_hand.out, Catch::Contains("0 transfers (1 kept under a legal hold)"));
  auto listed = run_cli(gw.dir(), {"hold", "list", "--config", cfg});
  CHECK_THAT(listed.out, Catch::Contains(kept));
}

TEST_CASE(
    "the purge thread ending on a fault fails the gateway rather than purging nothing in "
    "silence",
    "[system][retention][failure]") {
  gateway_process gw(json{{"retention", {{"transfers_days", 30}}}}, false);
  failpoint_file failpoints(gw.dir() / "failpoints");
  gw.start();
  http_client monitor(gw.port());
  REQUIRE(monitor.get("/healthz", "").status == 200);
  failpoints.arm("retention.thread_exception");
  // The thread wakes each second to beat: the fault is met within about one.
  const http_response dead = wait_degraded(monitor, "the purge thread ending");
  CHECK(dead.json["failed"] == "retention");
  CHECK(gw.wait_exit(std::chrono::seconds(40)) == 5);
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=purge_thread_failed"));
  CHECK_THAT(gw.stderr_text(), Catch::Contains("event=component_failed component=retention"));
  failpoints.disarm();
}
