// System test of `bluelink demo init` as ./tools/run uses it: the demo's gateway starts with its
// call history and go-live, and the manager's first report shows calls before and after go-live.

#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "tests/support/cli_process.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

namespace {
using bl::test::gateway_process;
using bl::test::http_client;
using nlohmann::json;
}  // namespace

TEST_CASE("the demo's manager sees a year of calls before go-live and the fall since",
          "[system][demo][savings]") {
  bl::test::temp_dir dir;
  const auto demo_dir = (dir.path() / "demo").string();
  auto r = bl::test::run_cli(dir.path(), {"demo", "init", "--dir", demo_dir, "--cad-port", "5572"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("call history:"));
  auto cfg = json::parse(bl::test::read_text(dir.path() / "demo/config.json"));
  const auto go_live = cfg.at("savings").at("go_live").get<std::string>();
  const auto now_month = bl::uk_month_of(bl::now_ms());
  CHECK(go_live == now_month.plus(-4).str() + "-01");

  SECTION("running it again keeps the go-live and imports nothing twice") {
    auto again = bl::test::run_cli(dir.path(), {"demo", "init", "--dir", demo_dir, "--force"});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK_THAT(again.out, Catch::Contains("call history: 0 calls imported"));
    auto cfg2 = json::parse(bl::test::read_text(dir.path() / "demo/config.json"));
    CHECK(cfg2.at("savings").at("go_live") == go_live);
  }

  // The demo's own gateway, on a free port (the CAD link is not needed for the report).
  gateway_process gw(json::object(), false);
  cfg["listen"]["port"] = 0;
  cfg.erase("cad_link");
  gw.config() = cfg;
  gw.start();
  http_client c(gw.port());
  // Read now: a second demo init (the section above) gives the users new passwords.
  auto creds = json::parse(bl::test::read_text(dir.path() / "demo/credentials.json"));
  std::string password;
  for (const auto& u : creds.at("users"))
    if (u.at("username") == "manager") password = u.at("password").get<std::string>();
  auto manager = bl::test::sign_in(c, "manager", password).cookie;
  const auto g = *bl::year_month::parse(go_live.substr(0, 7));
  auto report = c.request_with(
      "GET", "/api/v1/reports/savings?from=" + g.plus(-4).str() + "&to=" + g.plus(3).str(), {},
      {{"Cookie", manager}});
  INFO(report.body);
  REQUIRE(report.status == 200);
  const auto& j = report.json;
  CHECK(j.at("settings").at("baseline").at("months_with_data") == 12);
  auto fire_police = [&](const json& rows) {
    for (const auto& d : rows)
      if (d.at("from") == "essex-fire" && d.at("to") == "essex-police") return d;
    FAIL("no essex-fire -> essex-police row");
    return json();
  };
  auto police_fire_seen = false;
  for (const auto& d : j.at("settings").at("baseline").at("by_direction"))
    if (d.at("from") == "essex-police" && d.at("to") == "essex-fire") police_fire_seen = true;
  CHECK(police_fire_seen);
  CHECK(fire_police(j.at("settings").at("baseline").at("by_direction")).at("calls_per_month") ==
        400);
  const auto& months = j.at("months");
  REQUIRE(months.size() == 8);
  // Before go-live: about 400 calls a month, a third of them on the emergency line.
  auto before = fire_police(months[0].at("directions")).at("calls");
  CHECK(before.at("total").get<int>() > 380);
  CHECK(before.at("emergency").get<int>() * 3 >= before.at("total").get<int>());
  // The fourth month after go-live: 188 calls, 53 % fewer, £848 saved at £4 a call.
  auto fourth = fire_police(months[7].at("directions"));
  CHECK(fourth.at("calls").at("total") == 188);
  CHECK(fourth.at("volume").at("reduction_pct") == 53.0);
  CHECK(fourth.at("volume").at("saved_pence") == 84800);
  CHECK(!j.at("comparison").at("lines").empty());
}
