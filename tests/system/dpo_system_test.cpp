// An agency's data-protection officer through the real gateway (issue 18, docs/data-protection.md):
// reads its agency's transfers, calls and access log (each read logged under the officer's name),
// places and lifts legal holds on its transfers, and acts for it in nothing: no sending, answering,
// inbox, phone claims or call logging, no live feed of its transfers, no other agency's log, no
// reports and no accounts. Only an admin adds one, and always of one agency.

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <system_error>

#include <boost/system/system_error.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/cli_process.hpp"
#include "tests/support/console_login.hpp"
#include "tests/support/console_ws.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace dpo_system {

using nlohmann::json;
using namespace bl::test;

const std::string dpo_password = "a long enough password";

/// A running gateway with Police's operator, supervisor and officer and an admin, and a client.
struct dpo_rig {
  dpo_rig() {
    add_users(gw.db_path(),
              {{"police.op", "Kim Hall", bl::role::operator_role, essex_police},
               {"police.sup", "Sam Lee", bl::role::supervisor, essex_police},
               {"police.dpo", "Pat Reid", bl::role::dpo, essex_police},
               {"admin", "Admin", bl::role::admin, ""}},
              dpo_password);
  }
  /// Fire sends Police a request whose summary is `summary`; its transfer id.
  std::string send(const std::string& tag, const std::string& summary) {
    auto doc = a12_rtc_request(new_message_id(essex_fire, tag));
    doc["body"]["summary"] = summary;
    auto sent = c.post("/api/v1/messages", doc, gateway_process::token(essex_fire));
    REQUIRE(sent.status == 202);
    return sent.json["receipt"]["transfer_id"].get<std::string>();
  }
  gateway_process gw;
  http_client c{gw.port()};
  const unsigned short port = gw.port();
};

}  // namespace dpo_system

TEST_CASE(
    "a data-protection officer reads their agency's transfers and access log, holds transfers, "
    "and acts for the agency in nothing",
    "[system][personal_data][dpo]") {
  using namespace dpo_system;
  dpo_rig rig;
  auto& c = rig.c;
  const auto port = rig.port;
  auto sent = c.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "dpo")),
                     gateway_process::token(essex_fire));
  REQUIRE(sent.status == 202);
  const std::string transfer = sent.json["receipt"]["transfer_id"];

  auto dpo = sign_in(c, "police.dpo", dpo_password);
  CHECK(dpo.reply.json["user"]["role"] == "dpo");
  CHECK(dpo.reply.json["user"]["agency"] == essex_police);

  // Reads: the agency's transfers (list and detail), its calls; each read is logged as theirs.
  CHECK(as_user(c, dpo, "GET", "/api/v1/transfers", nullptr, port).status == 200);
  auto detail = as_user(c, dpo, "GET", "/api/v1/transfers/" + transfer, nullptr, port);
  REQUIRE(detail.status == 200);
  CHECK(detail.json["transfer"]["transfer_id"] == transfer);
  CHECK(as_user(c, dpo, "GET", "/api/v1/calls", nullptr, port).status == 200);

  // Acts in nothing: each refused with the role named, and nothing changed.
  const json call = {{"direction", "incoming"},
                     {"other_agency", essex_fire},
                     {"emergency", true},
                     {"reason", "police.traffic_management"}};
  struct attempt {
    const char* method;
    std::string target;
    json body;
  };
  const attempt refused[] = {
      {"POST", "/api/v1/messages", forced_entry_request(new_message_id(essex_police, "dpo"))},
      {"GET", "/api/v1/inbox", nullptr},
      {"POST", "/api/v1/inbox/ack", json{{"ids", json::array({"x"})}}},
      {"POST", "/api/v1/calls", call},
      {"POST", "/api/v1/phone-claims", json{{"transfer_id", transfer}, {"prompt", "x"}}},
      {"POST", "/api/v1/redirects", json{{"transfer_id", transfer}, {"to", essex_fire}}},
      {"GET", "/api/v1/reports/savings", nullptr},
      {"GET", "/api/v1/users", nullptr},
  };
  for (const auto& a : refused) {
    auto r = as_user(c, dpo, a.method, a.target, a.body, port);
    INFO(a.method << " " << a.target << " -> " << r.status << " " << r.body);
    CHECK(r.status == 403);
    CHECK(error_code(r) == "bl.auth.forbidden_role");
  }
  auto message_refused = as_user(c, dpo, "POST", "/api/v1/messages", refused[0].body, port);
  CHECK_THAT(message_refused.json["error"]["message"].get<std::string>(),
             Catch::Contains("does not send, answer or take them"));
  CHECK(c.get("/api/v1/transfers/" + transfer, gateway_process::token(essex_police))
            .json["transfer"]["state"] == "submitted");

  // Holds on the agency's transfers, with a reason.
  const std::string hold = "/api/v1/holds/" + transfer;
  auto placed =
      as_user(c, dpo, "POST", "/api/v1/holds",
              {{"transfer_id", transfer}, {"reason", "Subject access request SAR-114"}}, port);
  INFO(placed.body);
  CHECK(placed.status == 201);
  CHECK(as_user(c, dpo, "DELETE", hold, {{"reason", "Request answered"}}, port).status == 200);

  // The agency's access log, not another's; their own reads are in it, under their name.
  auto log = as_user(c, dpo, "GET", "/api/v1/access-log?user=police.dpo", nullptr, port);
  INFO(log.body);
  REQUIRE(log.status == 200);
  CHECK(log.json["agency"] == essex_police);
  int consulted = 0;
  for (const auto& e : log.json["entries"])
    if (e["operation"] == "consult" && e["object"] == "transfer" && e["transfer_id"] == transfer)
      ++consulted;
  CHECK(consulted == 1);
  auto other = as_user(c, dpo, "GET", "/api/v1/access-log?agency=essex-fire", nullptr, port);
  CHECK(other.status == 403);
  CHECK_THAT(other.json["error"]["message"].get<std::string>(),
             Catch::Contains("a dpo reads their own agency's access log"));
}

TEST_CASE("only an admin adds a data-protection officer, and always of one agency",
          "[system][personal_data][dpo]") {
  using namespace dpo_system;
  dpo_rig rig;
  auto& gw = rig.gw;
  auto& c = rig.c;
  const auto port = rig.port;
  auto admin = sign_in(c, "admin", dpo_password);
  auto sup = sign_in(c, "police.sup", dpo_password);
  const json officer = {{"username", "fire.dpo"},
                        {"display_name", "Jo Ray"},
                        {"role", "dpo"},
                        {"agency", essex_fire},
                        {"password", dpo_password}};
  auto by_sup = as_user(c, sup, "POST", "/api/v1/users", officer, port);
  CHECK(by_sup.status == 403);
  json no_agency = officer;
  no_agency.erase("agency");
  auto unscoped = as_user(c, admin, "POST", "/api/v1/users", no_agency, port);
  INFO(unscoped.body);
  CHECK(unscoped.status == 400);
  CHECK(unscoped.json["error"]["pointer"] == "/agency");
  auto added = as_user(c, admin, "POST", "/api/v1/users", officer, port);
  INFO(added.body);
  CHECK(added.status == 201);
  auto fire_dpo = sign_in(c, "fire.dpo", dpo_password);
  CHECK(fire_dpo.reply.json["user"]["role"] == "dpo");

  // And from the command line.
  auto cli = run_cli(
      gw.dir(), {"user", "add", "--config", gw.config_path().string(), "--username", "amb.dpo",
                 "--name", "Lee Shaw", "--role", "dpo", "--agency", eeast_ambulance, "--generate"});
  INFO(cli.out << cli.err);
  CHECK(cli.exit_code == 0);
  auto cli_unscoped =
      run_cli(gw.dir(), {"user", "add", "--config", gw.config_path().string(), "--username",
                         "amb.dpo2", "--name", "Lee Shaw", "--role", "dpo", "--generate"});
  CHECK(cli_unscoped.exit_code != 0);
  CHECK_THAT(cli_unscoped.err, Catch::Contains("belongs to one agency"));
}

TEST_CASE("a data-protection officer's console is not sent the agency's transfers live",
          "[system][personal_data][dpo][ws]") {
  using namespace dpo_system;
  dpo_rig rig;
  auto& gw = rig.gw;
  auto& c = rig.c;
  const std::string origin = "http://127.0.0.1:" + std::to_string(gw.port());
  auto op = sign_in(c, "police.op", dpo_password);
  auto dpo = sign_in(c, "police.dpo", dpo_password);
  console_ws op_ws(gw.port(), op.cookie, origin);
  console_ws dpo_ws(gw.port(), dpo.cookie, origin);
  for (auto* ws : {&op_ws, &dpo_ws}) {
    ws->send({{"op", "hello"}, {"after", 0}});
    ws->until("welcome");
    ws->until("caught_up");
  }
  auto sent = c.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "dpo-ws")),
                     gateway_process::token(essex_fire));
  REQUIRE(sent.status == 202);
  CHECK(op_ws.until("event").at("transfer_id") == sent.json["receipt"]["transfer_id"]);
  // The officer's console: link status and the like, never a transfer (a read of one is a
  // request of its own, and logged).
  int events = 0;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  try {
    while (std::chrono::steady_clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto f = dpo_ws.next(std::max(left, std::chrono::milliseconds(1)));
      if (f.value("op", "") == "event") ++events;
    }
  } catch (const boost::system::system_error&) {
    // Nothing more before the 2 s were up (the client closes the socket then).
  }
  CHECK(events == 0);
}

TEST_CASE(
    "an officer's subject access search finds the person in the agency's transfers, and is "
    "logged with the request's reference",
    "[system][personal_data][dpo][subject]") {
  using namespace dpo_system;
  dpo_rig rig;
  auto& c = rig.c;
  const auto port = rig.port;
  const auto named = rig.send("sar-a", "Caller Jane Doe on 07700 900123, driver trapped");
  rig.send("sar-b", "Caller John Roe, 1 High Street");
  const json search = {{"reference", "SAR-2026-031"},
                       {"terms",
                        {{{"kind", "name"}, {"value", "jane doe"}},
                         {{"kind", "phone"}, {"value", "+44 7700 900123"}}}}};
  const std::string path = "/api/v1/subject-access/search";

  auto dpo = sign_in(c, "police.dpo", dpo_password);
  auto found = as_user(c, dpo, "POST", path, search, port);
  INFO(found.body);
  REQUIRE(found.status == 200);
  CHECK(found.json["agency"] == essex_police);
  CHECK(found.json["reference"] == "SAR-2026-031");
  REQUIRE(found.json["transfers"].size() == 1);
  CHECK(found.json["transfers"][0]["transfer_id"] == named);
  CHECK(found.json["transfers"][0]["places"][0]["pointer"] == "/body/summary");
  CHECK_THAT(found.json["transfers"][0]["places"][0]["excerpt"].get<std::string>(),
             Catch::Contains("Jane Doe"));
  CHECK(found.json["read"]["transfers"] == 2);

  // Logged: the search, and the transfer it showed, with the reference as the justification.
  auto log =
      as_user(c, dpo, "GET", "/api/v1/access-log?user=police.dpo&operation=consult", nullptr, port);
  REQUIRE(log.status == 200);
  int searches = 0, shown = 0;
  for (const auto& e : log.json["entries"]) {
    if (e["justification"] != "subject access request SAR-2026-031") continue;
    if (e["object"] == "subject_search") ++searches;
    if (e["object"] == "transfer" && e["transfer_id"] == named) ++shown;
  }
  CHECK(searches == 1);
  CHECK(shown == 1);

  // Only officers (their own agency) and admins (naming one); bad terms are refused, named.
  auto op = sign_in(c, "police.op", dpo_password);
  CHECK(as_user(c, op, "POST", path, search, port).status == 403);
  json elsewhere = search;
  elsewhere["agency"] = essex_fire;
  CHECK(as_user(c, dpo, "POST", path, elsewhere, port).status == 403);
  auto admin = sign_in(c, "admin", dpo_password);
  auto unnamed = as_user(c, admin, "POST", path, search, port);
  CHECK(unnamed.status == 400);
  CHECK(unnamed.json["error"]["pointer"] == "/agency");
  json police_data = search;
  police_data["agency"] = essex_police;
  CHECK(as_user(c, admin, "POST", path, police_data, port).json["transfers"].size() == 1);
  json short_phone = search;
  short_phone["terms"] = {{{"kind", "phone"}, {"value", "123"}}};
  auto refused = as_user(c, dpo, "POST", path, short_phone, port);
  CHECK(refused.status == 400);
  CHECK(refused.json["error"]["pointer"] == "/terms/0");
  json no_reference = search;
  no_reference.erase("reference");
  CHECK(as_user(c, dpo, "POST", path, no_reference, port).status == 422);

  // From the command line: the same search, logged as the CLI's user.
  auto cli = run_cli(rig.gw.dir(), {"subject", "search", "--config", rig.gw.config_path().string(),
                                    "--agency", essex_police, "--reference", "SAR-2026-033",
                                    "--term", "name=Jane Doe", "--term", "phone=07700900123"});
  INFO(cli.err);
  REQUIRE(cli.exit_code == 0);
  auto printed = json::parse(cli.out);
  REQUIRE(printed["transfers"].size() == 1);
  CHECK(printed["transfers"][0]["transfer_id"] == named);
  CHECK_THAT(cli.err, Catch::Contains("mention the person"));
  auto cli_log = as_user(c, dpo, "GET", "/api/v1/access-log?operation=consult", nullptr, port);
  int by_cli = 0;
  for (const auto& e : cli_log.json["entries"])
    if (e["justification"] == "subject access request SAR-2026-033" && e["channel"] == "cli")
      ++by_cli;
  CHECK(by_cli == 2);  // the search and the transfer it found
  auto bad_term = run_cli(
      rig.gw.dir(), {"subject", "search", "--config", rig.gw.config_path().string(), "--agency",
                     essex_police, "--reference", "SAR-2026-034", "--term", "postcode=CM2"});
  CHECK(bad_term.exit_code == 2);
  CHECK_THAT(bad_term.err, Catch::Contains("kind must be"));
}

TEST_CASE(
    "an officer exports what is held about the person, third parties redacted, and the "
    "export is logged as a disclosure to them",
    "[system][personal_data][dpo][subject]") {
  using namespace dpo_system;
  dpo_rig rig;
  auto& c = rig.c;
  const auto port = rig.port;
  const auto kept = rig.send("exp-a", "Caller Jane Doe; witness John Roe on 01632 960999");
  const auto left = rig.send("exp-b", "Jane Doe (a namesake, not the requester)");
  auto dpo = sign_in(c, "police.dpo", dpo_password);
  const json request = {{"reference", "SAR-2026-040"},
                        {"terms", {{{"kind", "name"}, {"value", "Jane Doe"}}}},
                        {"exclude", {{"transfers", {left}}}},
                        {"redact", {"john roe", "01632 960999"}}};
  auto exported = as_user(c, dpo, "POST", "/api/v1/subject-access/export", request, port);
  INFO(exported.body);
  REQUIRE(exported.status == 200);
  CHECK_THAT(exported.header("Content-Disposition"), Catch::Contains("attachment"));
  const auto& x = exported.json;
  CHECK(x["reference"] == "SAR-2026-040");
  CHECK(x["agency"] == essex_police);
  CHECK(x["redacted_phrases"] == 2);
  CHECK(x["left_out"]["transfers"] == 1);
  REQUIRE(x["transfers"].size() == 1);
  const auto& t = x["transfers"][0];
  CHECK(t["transfer"]["transfer_id"] == kept);
  CHECK_FALSE(t["transfer"].contains("audit"));
  CHECK(t["retention"].contains("purge_due"));
  CHECK(t["disclosed"].is_array());
  CHECK(t["found"][0]["pointer"] == "/body/summary");
  const std::string text = x["transfers"].dump();
  CHECK(text.find("Jane Doe") != std::string::npos);
  CHECK(text.find("John Roe") == std::string::npos);
  CHECK(text.find("01632 960999") == std::string::npos);
  CHECK(text.find("[redacted]") != std::string::npos);
  CHECK(exported.body.find(left) == std::string::npos);

  // Logged as disclosed to the data subject, the transfer left out not at all.
  auto log = as_user(c, dpo, "GET", "/api/v1/access-log?operation=disclose&user=police.dpo",
                     nullptr, port);
  REQUIRE(log.status == 200);
  int to_subject = 0;
  for (const auto& e : log.json["entries"]) {
    CHECK(e["transfer_id"] != left);
    if (e["transfer_id"] == kept && e["recipients"] == "data subject" &&
        e["justification"] == "subject access request SAR-2026-040")
      ++to_subject;
  }
  CHECK(to_subject == 1);
  // A phrase to redact is bounded like every input.
  json too_many = request;
  too_many["redact"] = json::array();
  for (int i = 0; i < 51; ++i) too_many["redact"].push_back("name " + std::to_string(i));
  CHECK(as_user(c, dpo, "POST", "/api/v1/subject-access/export", too_many, port).status == 422);
}
