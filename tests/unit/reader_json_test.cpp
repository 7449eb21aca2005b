// The JSON the API and the console shape from the reader's typed rows (gateway/net/reader_json):
// the keys, value types and nulls that docs/openapi.yaml and docs/protocols/websocket.md give,
// which the console and integrations read.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "gateway/net/reader_json.hpp"

using namespace bl;
using nlohmann::json;

namespace {

const time_point t0 = *parse_rfc3339("2026-11-21T14:00:00.250Z");

store::transfer_row fire_asks_police() {
  store::transfer_row t;
  t.id = "T-20261121-000001";
  t.state = "accepted";
  t.version = 3;
  t.category = "police.traffic_management";
  t.priority = "urgent";
  t.mode = "live";
  t.requester = "essex-fire";
  t.responder = "essex-police";
  t.created_at = t0;
  t.updated_at = t0 + std::chrono::minutes(2);
  t.expires_at = t0 + std::chrono::hours(1);
  t.delivery_due = t0 + std::chrono::minutes(1);
  t.decision_due = t0 + std::chrono::minutes(10);
  t.decision_alerted = true;
  t.requester_number = "F-123";
  t.summary = "RTC A12 J19";
  return t;
}

store::event_row accepted(const std::string& detail) {
  store::event_row e;
  e.id = 41;
  e.transfer_id = "T-20261121-000001";
  e.at = t0 + std::chrono::minutes(2);
  e.kind = "transfer.accept";
  e.actor = "essex-police";
  e.message_id = "essex-police:m7";
  e.from_state = "received";
  e.to_state = "accepted";
  e.version = 3;
  e.detail = detail;
  return e;
}

}  // namespace

TEST_CASE(
    "a transfer's list row shows times in RFC 3339, each party's incident number and the side",
    "[unit][reader_json]") {
  auto t = fire_asks_police();
  json expected = {{"transfer_id", "T-20261121-000001"},
                   {"state", "accepted"},
                   {"version", 3},
                   {"category", "police.traffic_management"},
                   {"priority", "urgent"},
                   {"mode", "live"},
                   {"from", "essex-fire"},
                   {"to", "essex-police"},
                   {"created_at", "2026-11-21T14:00:00.250Z"},
                   {"updated_at", "2026-11-21T14:02:00.250Z"},
                   {"expires_at", "2026-11-21T15:00:00.250Z"},
                   {"delivery_due", "2026-11-21T14:01:00.250Z"},
                   {"decision_due", "2026-11-21T14:10:00.250Z"},
                   {"phone_fallback", true},
                   {"incident_numbers", {{"essex-fire", "F-123"}, {"essex-police", nullptr}}},
                   {"summary", "RTC A12 J19"}};
  CHECK(transfer_row_json(t) == expected);
  expected["direction"] = "outgoing";
  CHECK(transfer_row_json(t, "essex-fire") == expected);
  expected["direction"] = "incoming";
  CHECK(transfer_row_json(t, "essex-police") == expected);
  CHECK(transfer_list_json({t, t}, "essex-police") == json::array({expected, expected}));
  CHECK(transfer_list_json({}, "essex-police") == json::array());

  SECTION("with neither alert set and no summary, phone_fallback is false and summary null") {
    t.decision_alerted = false;
    t.summary.reset();
    auto row = transfer_row_json(t);
    CHECK(row["phone_fallback"] == false);
    CHECK(row["summary"].is_null());
  }
  SECTION("a transfer an agency asked of itself keys one number, the requester's") {
    t.responder = t.requester;
    t.responder_number = "other";
    CHECK(transfer_row_json(t)["incident_numbers"] == json{{"essex-fire", "F-123"}});
  }
}

TEST_CASE("a transfer's detail embeds stored JSON parsed, and text that is not JSON as a string",
          "[unit][reader_json]") {
  store::transfer_record t;
  static_cast<store::transfer_fields&>(t) = fire_asks_police();
  t.request_message_id = "essex-fire:m1";
  t.incident_numbers = {{"essex-police", "P-9", t0 + std::chrono::minutes(3)},
                        {"essex-fire", "F-123", t0}};
  t.timeline = {accepted(""), accepted("{\"via\":\"console\"}"), accepted("not json")};
  t.timeline[0].message_id.reset();
  t.timeline[0].from_state.reset();
  t.messages = {"{\"id\":\"essex-fire:m1\"}", "[1,2]"};
  t.audit = {{7, t0, "essex-fire", "message.accepted", "essex-fire:m1", "{}", "ab12"},
             {9, t0, "bluelink", "timer.fired", std::nullopt, "{\"k\":[1]}", "cd34"}};
  t.originals = {
      {"essex-fire:m1", "UCRI2 incident_transfer 1.0 incident", "application/json", 812, t0}};
  auto d = transfer_detail_json(t);

  CHECK(d["originals"] == json::array({{{"message_id", "essex-fire:m1"},
                                        {"standard", "UCRI2 incident_transfer 1.0 incident"},
                                        {"media_type", "application/json"},
                                        {"bytes", 812},
                                        {"received_at", "2026-11-21T14:00:00.250Z"}}}));
  CHECK(d["transfer_id"] == "T-20261121-000001");
  CHECK(d["request_message_id"] == "essex-fire:m1");
  CHECK(d["delivery_alerted"] == false);
  CHECK(d["decision_alerted"] == true);
  CHECK_FALSE(d.contains("phone_fallback"));
  CHECK_FALSE(d.contains("summary"));
  CHECK_FALSE(d.contains("direction"));
  CHECK(d["incident_numbers"] ==
        json{{"essex-fire", {{"number", "F-123"}, {"recorded_at", "2026-11-21T14:00:00.250Z"}}},
             {"essex-police", {{"number", "P-9"}, {"recorded_at", "2026-11-21T14:03:00.250Z"}}}});
  REQUIRE(d["timeline"].size() == 3);
  CHECK(d["timeline"][0] == json{{"at", "2026-11-21T14:02:00.250Z"},
                                 {"kind", "transfer.accept"},
                                 {"actor", "essex-police"},
                                 {"message_id", nullptr},
                                 {"from_state", nullptr},
                                 {"to_state", "accepted"},
                                 {"version", 3},
                                 {"detail", nullptr}});
  CHECK(d["timeline"][1]["detail"] == json{{"via", "console"}});
  CHECK(d["timeline"][2]["detail"] == "not json");
  CHECK(d["messages"] == json::array({{{"id", "essex-fire:m1"}}, {1, 2}}));
  CHECK(d["audit"] == json::array({{{"seq", 7},
                                    {"at", "2026-11-21T14:00:00.250Z"},
                                    {"actor", "essex-fire"},
                                    {"action", "message.accepted"},
                                    {"message_id", "essex-fire:m1"},
                                    {"detail", json::object()},
                                    {"hash", "ab12"}},
                                   {{"seq", 9},
                                    {"at", "2026-11-21T14:00:00.250Z"},
                                    {"actor", "bluelink"},
                                    {"action", "timer.fired"},
                                    {"message_id", nullptr},
                                    {"detail", {{"k", {1}}}},
                                    {"hash", "cd34"}}}));

  SECTION("a transfer with nothing recorded about it yet has empty lists and no numbers") {
    store::transfer_record bare;
    static_cast<store::transfer_fields&>(bare) = fire_asks_police();
    auto b = transfer_detail_json(bare);
    CHECK(b["incident_numbers"] == json::object());
    CHECK(b["timeline"] == json::array());
    CHECK(b["messages"] == json::array());
    CHECK(b["audit"] == json::array());
    CHECK(b["originals"] == json::array());
  }
}

TEST_CASE("a console event carries its id and transfer id beside the timeline entry's fields",
          "[unit][reader_json]") {
  auto e = console_event_json(accepted("{\"n\":1}"));
  CHECK(e == json{{"id", 41},
                  {"transfer_id", "T-20261121-000001"},
                  {"at", "2026-11-21T14:02:00.250Z"},
                  {"kind", "transfer.accept"},
                  {"actor", "essex-police"},
                  {"message_id", "essex-police:m7"},
                  {"from_state", "received"},
                  {"to_state", "accepted"},
                  {"version", 3},
                  {"detail", {{"n", 1}}}});
}

TEST_CASE("a call is listed with its direction and the other agency as each side sees it",
          "[unit][reader_json]") {
  store::call_row c;
  c.id = 5;
  c.source = "console";
  c.from_agency = "essex-fire";
  c.to_agency = "essex-police";
  c.started_at = t0;
  c.emergency = true;
  c.reason = "other";
  c.logged_by = "fire.op1";
  c.created_at = t0 + std::chrono::seconds(90);
  json expected = {{"id", 5},
                   {"direction", "outgoing"},
                   {"other_agency", "essex-police"},
                   {"from_agency", "essex-fire"},
                   {"to_agency", "essex-police"},
                   {"started_at", "2026-11-21T14:00:00.250Z"},
                   {"duration_s", nullptr},
                   {"emergency", true},
                   {"reason", "other"},
                   {"transfer_id", nullptr},
                   {"logged_by", "fire.op1"},
                   {"exercise", false},
                   {"note", nullptr},
                   {"source", "console"},
                   {"created_at", "2026-11-21T14:01:30.250Z"}};
  CHECK(call_list_json({c}, "essex-fire") == json::array({expected}));
  c.duration_s = 95;
  c.transfer_id = "T-20261121-000001";
  c.note = "rang back";
  expected["direction"] = "incoming";
  expected["other_agency"] = "essex-fire";
  expected["duration_s"] = 95;
  expected["transfer_id"] = "T-20261121-000001";
  expected["note"] = "rang back";
  CHECK(call_list_json({c}, "essex-police") == json::array({expected}));
}
