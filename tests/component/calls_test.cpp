// Phone calls through the engine into a real SQLite file, read back by the reader; and the
// schema set's report of every violation, which the console's dry run relies on.

#include <catch2/catch.hpp>

#include <future>
#include <set>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "gateway/net/reader_json.hpp"
#include "gateway/schema/schema_set.hpp"
#include "gateway/service/engine.hpp"
#include "gateway/service/inbox_notifier.hpp"
#include "gateway/store/reader.hpp"
#include "gateway/store/store_error.hpp"
#include "tests/support/engine_rig.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/temp_dir.hpp"

using namespace bl;
using nlohmann::json;

namespace {
using rig = test::engine_rig;

// Essex Fire rings Essex Police on the emergency line about traffic management.
call_record fire_rings_police(const std::string& transfer_id = {}) {
  call_record c;
  c.source = "console";
  c.agency = "essex-fire";
  c.from_agency = "essex-fire";
  c.to_agency = "essex-police";
  c.started_at = *parse_rfc3339("2026-11-21T14:00:00Z");
  c.duration_s = 95;
  c.emergency = true;
  c.reason = "police.traffic_management";
  c.transfer_id = transfer_id;
  c.logged_by = "fire.op1";
  c.note = "A12 J19 northbound, closure requested";
  return c;
}

// The calls `agency` lists, as GET /api/v1/calls shows them.
json calls(rig& r, const std::string& agency, std::optional<time_point> since, int limit) {
  return call_list_json(r.rd->list_calls(agency, since, limit), agency);
}
}  // namespace

TEST_CASE("a call about no transfer is stored, audited and listed for both agencies",
          "[component][calls]") {
  rig r;
  auto id = r.logged(fire_rings_police());
  CHECK(id == 1);
  CHECK(r.count("SELECT count(*) FROM calls") == 1);
  CHECK(r.count("SELECT count(*) FROM transfer_events") == 0);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'call.logged' AND transfer_id IS NULL"
                " AND actor = 'essex-fire'") == 1);
  CHECK(r.count("SELECT created_at FROM calls") ==
        to_ms(*parse_rfc3339("2026-11-21T14:02:12Z")));  // the engine's clock, not the caller's

  auto fire = calls(r, "essex-fire", std::nullopt, 10);
  REQUIRE(fire.size() == 1);
  CHECK(fire[0]["id"] == id);
  CHECK(fire[0]["direction"] == "outgoing");
  CHECK(fire[0]["other_agency"] == "essex-police");
  CHECK(fire[0]["started_at"] == "2026-11-21T14:00:00.000Z");
  CHECK(fire[0]["duration_s"] == 95);
  CHECK(fire[0]["emergency"] == true);
  CHECK(fire[0]["reason"] == "police.traffic_management");
  CHECK(fire[0]["transfer_id"].is_null());
  CHECK(fire[0]["logged_by"] == "fire.op1");
  CHECK(fire[0]["source"] == "console");
  CHECK(fire[0]["exercise"] == false);
  CHECK(fire[0]["note"] == "A12 J19 northbound, closure requested");

  auto police = calls(r, "essex-police", std::nullopt, 10);
  REQUIRE(police.size() == 1);
  CHECK(police[0]["direction"] == "incoming");
  CHECK(police[0]["other_agency"] == "essex-fire");
  CHECK(calls(r, "eeast-ambulance", std::nullopt, 10).empty());

  SECTION("and is still there after a restart") {
    r.restart();
    CHECK(calls(r, "essex-fire", std::nullopt, 10).size() == 1);
    CHECK(r.rd->verify_audit().ok);
  }
}

TEST_CASE("a call about a transfer appears in its timeline and audit", "[component][calls]") {
  rig r;
  auto tid = r.request("essex-fire:call-1");
  // The police ring back about the request: logged by the police's integration.
  call_record c = fire_rings_police(tid);
  c.source = "api";
  c.agency = "essex-police";
  c.logged_by = "essex-police";
  c.emergency = false;
  c.note.clear();
  auto id = r.logged(c);

  auto t = r.detail(tid, "essex-police");
  json call_event;
  for (const auto& e : t["timeline"])
    if (e["kind"] == "phone_call") call_event = e;
  REQUIRE(call_event.is_object());
  CHECK(call_event["actor"] == "essex-police");
  CHECK(call_event["to_state"] == t["state"]);
  CHECK(call_event["detail"]["call_id"] == id);
  CHECK(call_event["detail"]["direction"] == "incoming");  // the police received the call
  CHECK(call_event["detail"]["emergency"] == false);
  CHECK(call_event["detail"]["reason"] == "police.traffic_management");
  CHECK(call_event["detail"]["by"] == "essex-police");
  CHECK(call_event["detail"]["note"].is_null());
  std::size_t audited = 0;
  for (const auto& a : t["audit"])
    if (a["action"] == "call.logged") ++audited;
  CHECK(audited == 1);
  CHECK(t["version"] == 1);  // a call changes nothing about the transfer itself

  auto listed = calls(r, "essex-police", std::nullopt, 10);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["transfer_id"] == tid);
  CHECK(listed[0]["source"] == "api");
}

TEST_CASE("a call about an unknown transfer or someone else's is refused and stores nothing",
          "[component][calls]") {
  rig r;
  auto tid = r.request("essex-fire:call-2");  // fire <-> police
  auto unknown = r.log(fire_rings_police("T-20261121-000099"));
  REQUIRE(std::holds_alternative<error>(unknown));
  CHECK(std::get<error>(unknown).code == errc::transfer_not_found);
  CHECK(std::get<error>(unknown).pointer == "/transfer_id");

  call_record c = fire_rings_police(tid);
  c.agency = "eeast-ambulance";
  c.from_agency = "eeast-ambulance";
  auto outsider = r.log(c);
  REQUIRE(std::holds_alternative<error>(outsider));
  // The same answer as for a transfer that does not exist: ids cannot be probed.
  CHECK(std::get<error>(outsider).code == errc::transfer_not_found);
  CHECK(std::get<error>(outsider).message == "no transfer '" + tid + "'");

  CHECK(r.count("SELECT count(*) FROM calls") == 0);
  CHECK(r.count("SELECT count(*) FROM audit WHERE action = 'call.logged'") == 0);
  CHECK(r.count("SELECT count(*) FROM transfer_events WHERE kind = 'phone_call'") == 0);
}

TEST_CASE("calls are listed newest first, from `since`, up to `limit`", "[component][calls]") {
  rig r;
  for (int i = 0; i < 5; ++i) {
    auto c = fire_rings_police();
    c.started_at = *parse_rfc3339("2026-11-21T10:00:00Z") + std::chrono::hours(i);
    c.note = "call " + std::to_string(i);
    r.logged(c);
  }
  auto all = calls(r, "essex-fire", std::nullopt, 100);
  REQUIRE(all.size() == 5);
  CHECK(all[0]["note"] == "call 4");
  CHECK(all[4]["note"] == "call 0");
  auto recent = calls(r, "essex-fire", parse_rfc3339("2026-11-21T12:00:00Z"), 100);
  REQUIRE(recent.size() == 3);
  CHECK(recent[2]["note"] == "call 2");
  CHECK(calls(r, "essex-fire", std::nullopt, 2).size() == 2);
}

TEST_CASE("validate_all reports every violation; validate still reports the most specific one",
          "[component][calls][schema]") {
  schema_set schemas(BL_SOURCE_DIR "/schemas");
  json call = {{"direction", "sideways"}, {"other_agency", "essex-police"},
               {"emergency", true},       {"reason", "police.traffic_management"},
               {"duration_s", -1},        {"colour", "red"}};
  auto all = schemas.validate_all("api/call", call);
  std::set<std::string> pointers;
  for (const auto& e : all) {
    CHECK(e.code == errc::schema_invalid);
    pointers.insert(e.pointer);
  }
  CHECK(pointers == std::set<std::string>{"/direction", "/duration_s", "/colour"});
  auto first = schemas.validate("api/call", call);
  REQUIRE(first);
  CHECK(pointers.count(first->pointer) == 1);
  CHECK(schemas
            .validate_all("api/call", json{{"direction", "outgoing"},
                                           {"other_agency", "essex-police"},
                                           {"emergency", false},
                                           {"reason", "other"}})
            .empty());

  SECTION("a missing required property is reported beside the others") {
    call.erase("reason");
    auto errors = schemas.validate_all("api/call", call);
    bool missing = false;
    for (const auto& e : errors)
      if (e.message.find("reason") != std::string::npos && e.pointer.empty()) missing = true;
    CHECK(missing);
    CHECK(errors.size() == 4);
  }

  SECTION("a message's envelope and body are both checked") {
    json msg = test::rtc_request("essex-fire:bad");
    msg["body"]["priority"] = "whenever";
    msg["body"]["category"] = "fire.juggling";
    msg["sent_at"] = "yesterday";
    auto errors = schemas.validate_message_all(msg);
    std::set<std::string> where;
    for (const auto& e : errors) where.insert(e.pointer);
    CHECK(where == std::set<std::string>{"/sent_at", "/body/priority", "/body/category"});
    auto one = schemas.validate_message(msg);
    REQUIRE(one);
    CHECK(one->pointer == "/sent_at");  // as before: the envelope first
  }
}
