// No personal data leaks sideways into the gateway's log (issue 18: "logs carry ids, never names,
// numbers or free text"): the real gateway binary, logging everything (trace), is sent transfers,
// replies, a partner's CAP alert and NENA EIDO, a phone call, and wrong versions of each whose
// refusals echo the offending value back to the sender; its log must then hold none of the
// person's name, telephone number, address or the free text. The log is where operators and
// suppliers look, and is kept and shipped under other rules than the store.

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/sample_messages.hpp"

namespace personal_data_logs {

using nlohmann::json;
using namespace bl::test;

// What identifies the person in this test: none of it may reach the log.
const std::vector<std::string> personal = {"Priya",  "Shah",       "07700 900123", "07700900123",
                                           "900123", "Broad Walk", "CM20 1HT",     "grey cardigan"};

json with_person(json msg) {
  json& b = msg["body"];
  b["contact"] = {{"name", "Priya Shah"}, {"phone", "07700 900123"}};
  b["notes"] = "Caller Priya Shah, 07700 900123, waiting outside 12 Broad Walk in a grey cardigan";
  b["methane"]["exact_location"]["address"] = "12 Broad Walk, Harlow CM20 1HT";
  return msg;
}

}  // namespace personal_data_logs

TEST_CASE("the gateway's log carries ids and codes, never a person's name, number or free text",
          "[system][personal_data]") {
  using namespace personal_data_logs;
  gateway_process gw(json{{"log", {{"level", "trace"}}}});
  http_client c(gw.port());
  const std::string fire = gateway_process::token(essex_fire);
  const std::string police = gateway_process::token(essex_police);

  // A request with the person in it, and what follows it.
  json request = with_person(rtc_request(new_message_id(essex_fire, "pd")));
  auto sent = c.post("/api/v1/messages", request, fire);
  INFO(sent.body);
  REQUIRE(sent.status == 202);
  const std::string transfer = sent.json["receipt"]["transfer_id"].get<std::string>();
  json update_msg = follow_up(new_message_id(essex_fire, "pd-u"), "transfer.update", essex_fire,
                              transfer, {{"text", "Priya Shah now says 07700 900123 is off"}});
  update_msg["version"] = 2;
  auto update = c.post("/api/v1/messages", update_msg, fire);
  INFO(update.body);
  CHECK(update.status == 202);
  auto decline = c.post(
      "/api/v1/messages",
      follow_up(new_message_id(essex_police, "pd-d"), "transfer.decline", essex_police, transfer,
                {{"reason", "other"}, {"text", "Priya Shah is known to us; ring 07700 900123"}}),
      police);
  CHECK(decline.status == 202);
  CHECK(c.get("/api/v1/transfers/" + transfer, police).status == 200);

  // Refusals that name the offending value to the sender.
  json bad_phone = with_person(rtc_request(new_message_id(essex_fire, "pd-b1")));
  bad_phone["body"]["contact"]["phone"] = "07700 900123 Priya Shah";
  CHECK(c.post("/api/v1/messages", bad_phone, fire).status == 422);
  json long_summary = with_person(rtc_request(new_message_id(essex_fire, "pd-b2")));
  long_summary["body"]["summary"] = std::string(190, 'x') + " Priya Shah 07700 900123";
  CHECK(c.post("/api/v1/messages", long_summary, fire).status == 422);
  json unknown_member = with_person(rtc_request(new_message_id(essex_fire, "pd-b3")));
  unknown_member["body"]["Priya Shah"] = "07700 900123";
  CHECK(c.post("/api/v1/messages", unknown_member, fire).status == 422);
  update_msg["version"] = 1;  // stale: refused with the versions, naming nothing else
  update_msg["id"] = new_message_id(essex_fire, "pd-u2");
  CHECK(c.post("/api/v1/messages", update_msg, fire).status == 409);
  CHECK(c.request("POST", "/api/v1/messages", "{\"notes\": \"Priya Shah 07700 900123\"", fire)
            .status == 400);

  // A phone call noted with the person, and one refused.
  json call = {{"direction", "outgoing"},
               {"other_agency", essex_police},
               {"emergency", true},
               {"reason", "police.traffic_management"},
               {"note", "Rang about Priya Shah, 07700 900123, 12 Broad Walk"},
               {"started_at", "2026-11-21T14:03:00Z"},
               {"duration_s", 75}};
  CHECK(c.post("/api/v1/calls", call, fire).status == 201);
  call["reason"] = "Priya Shah 07700 900123";
  CHECK(c.post("/api/v1/calls", call, fire).status == 422);

  // A partner's CAP alert about the person, and the same with a broken element.
  const std::string cap =
      R"(<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>PD-CAP-1</identifier><sender>essex-police</sender>
  <sent>2026-11-21T14:05:00+00:00</sent><status>Actual</status><msgType>Alert</msgType>
  <scope>Public</scope>
  <info><category>Rescue</category><event>Missing person Priya Shah</event>
    <urgency>Immediate</urgency><severity>Severe</severity><certainty>Observed</certainty>
    <description>Priya Shah, 07700 900123, last seen at 12 Broad Walk in a grey cardigan</description>
    <area><areaDesc>12 Broad Walk, Harlow CM20 1HT</areaDesc><circle>51.7686,0.0957 2</circle></area>
  </info>
</alert>)";
  auto doc = c.request("POST", "/api/v1/documents?standard=cap&for=essex-fire", cap, police);
  INFO(doc.body);
  CHECK(doc.status == 202);
  std::string broken = cap;
  broken.replace(broken.find("<circle>51.7686"), 15, "<circle>Priya Shah 07700 900123");
  CHECK(c.request("POST", "/api/v1/documents?standard=cap&for=essex-fire", broken, police).status ==
        422);

  const std::string log = gw.stderr_text();
  REQUIRE(log.find("event=stored") != std::string::npos);  // the log is there, and full
  REQUIRE(log.find("event=rejected") != std::string::npos);
  // A refusal's line still says what was wrong and where, in the schema's words.
  CHECK(log.find("code=bl.schema.invalid pointer=\"/body/\u2026\" reason=\"unknown property "
                 "'\u2026' is not allowed\"") != std::string::npos);
  for (const auto& p : personal) {
    INFO("the log carries '" << p << "'");
    auto at = log.find(p);
    if (at != std::string::npos) {
      auto from = log.rfind('\n', at);
      auto to = log.find('\n', at);
      INFO(log.substr(from == std::string::npos ? 0 : from + 1,
                      (to == std::string::npos ? log.size() : to) -
                          (from == std::string::npos ? 0 : from + 1)));
      CHECK(at == std::string::npos);
    }
  }
}
