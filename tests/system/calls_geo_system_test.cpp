// System tests: phone-call logging, OS grid conversion and dry-run message validation against the
// real bluelink-gateway binary, driven with bearer tokens as an integration drives it.

#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <tuple>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using bl::test::eeast_ambulance;
using bl::test::essex_fire;
using bl::test::essex_police;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::http_response;
using bl::test::new_message_id;
using nlohmann::json;

std::string token_of(const std::string& agency) {
  return gateway_process::token(agency);
}

http_response post_call(http_client& c, const json& body, const std::string& agency) {
  return c.post("/api/v1/calls", body, token_of(agency));
}

json fire_rings_police() {
  return {{"direction", "outgoing"},
          {"other_agency", essex_police},
          {"emergency", true},
          {"reason", "police.traffic_management"},
          {"note", "A12 J19 northbound: closure requested while the crew cut the driver free"},
          {"started_at", "2026-11-21T14:03:00Z"},
          {"duration_s", 75}};
}

}  // namespace

TEST_CASE("phone calls are logged, checked, listed and shown in a transfer's timeline",
          "[system][calls]") {
  gateway_process gw;
  http_client fire(gw.port());

  auto r = post_call(fire, fire_rings_police(), essex_fire);
  INFO(r.body);
  REQUIRE(r.status == 201);
  const json call = r.json.at("call");
  CHECK(call["id"].is_number_integer());
  CHECK(call["direction"] == "outgoing");
  CHECK(call["from_agency"] == essex_fire);
  CHECK(call["to_agency"] == essex_police);
  CHECK(call["started_at"] == "2026-11-21T14:03:00.000Z");
  CHECK(call["duration_s"] == 75);
  CHECK(call["source"] == "api");
  CHECK(call["logged_by"] == essex_fire);  // a token has no user: the agency logged it
  CHECK(call["transfer_id"].is_null());

  SECTION("a bad reason is refused with its pointer") {
    json bad = fire_rings_police();
    bad["reason"] = "tea";
    auto rr = post_call(fire, bad, essex_fire);
    INFO(rr.body);
    REQUIRE(rr.status == 422);
    CHECK(rr.json["error"]["code"] == "bl.schema.invalid");
    CHECK(rr.json["error"]["pointer"] == "/reason");
  }
  SECTION("an unknown or own agency is refused") {
    json bad = fire_rings_police();
    bad["other_agency"] = "kent-police";
    auto rr = post_call(fire, bad, essex_fire);
    INFO(rr.body);
    REQUIRE(rr.status == 422);
    CHECK(rr.json["error"]["code"] == "bl.route.unknown_agency");
    CHECK(rr.json["error"]["pointer"] == "/other_agency");
    bad["other_agency"] = essex_fire;
    rr = post_call(fire, bad, essex_fire);
    REQUIRE(rr.status == 422);
    CHECK(rr.json["error"]["code"] == "bl.route.self_addressed");
  }
  SECTION("a call about a transfer appears in its timeline; outsiders cannot attach one") {
    auto sent =
        fire.post("/api/v1/messages", bl::test::a12_rtc_request(new_message_id(essex_fire, "a12")),
                  token_of(essex_fire));
    REQUIRE(sent.status == 202);
    const std::string tid = sent.json["receipt"]["transfer_id"];

    http_client police(gw.port());
    json back = {{"direction", "outgoing"},
                 {"other_agency", essex_fire},
                 {"emergency", false},
                 {"reason", "police.traffic_management"},
                 {"transfer_id", tid}};
    auto rr = post_call(police, back, essex_police);
    INFO(rr.body);
    REQUIRE(rr.status == 201);
    auto detail = fire.get("/api/v1/transfers/" + tid, token_of(essex_fire));
    REQUIRE(detail.status == 200);
    json event;
    for (const auto& e : detail.json["transfer"]["timeline"])
      if (e["kind"] == "phone_call") event = e;
    INFO(detail.body);
    REQUIRE(event.is_object());
    CHECK(event["actor"] == essex_police);
    CHECK(event["detail"]["call_id"] == rr.json["call"]["id"]);
    CHECK(event["detail"]["direction"] == "outgoing");
    CHECK(event["detail"]["by"] == essex_police);

    http_client ambulance(gw.port());
    json outsider = back;
    outsider["other_agency"] = essex_police;
    auto denied = post_call(ambulance, outsider, eeast_ambulance);
    // "Not yours" is answered exactly like "no such transfer".
    CHECK(denied.status == 404);
    CHECK(denied.json["error"]["code"] == "bl.transfer.not_found");
    outsider["transfer_id"] = "T-20200101-000001";
    auto missing = post_call(ambulance, outsider, eeast_ambulance);
    CHECK(missing.status == 404);
    CHECK(missing.json["error"]["code"] == "bl.transfer.not_found");
  }
  SECTION("GET /api/v1/calls lists calls involving the caller's agency") {
    http_client police(gw.port());
    auto listed = police.get("/api/v1/calls?limit=10", token_of(essex_police));
    INFO(listed.body);
    REQUIRE(listed.status == 200);
    REQUIRE(listed.json["calls"].size() == 1);
    CHECK(listed.json["calls"][0]["id"] == call["id"]);
    CHECK(listed.json["calls"][0]["direction"] == "incoming");
    CHECK(listed.json["calls"][0]["other_agency"] == essex_fire);
    http_client ambulance(gw.port());
    auto none = ambulance.get("/api/v1/calls", token_of(eeast_ambulance));
    REQUIRE(none.status == 200);
    CHECK(none.json["calls"].empty());
    auto later = police.get("/api/v1/calls?since=2026-11-21T15:00:00Z", token_of(essex_police));
    REQUIRE(later.status == 200);
    CHECK(later.json["calls"].empty());
    auto bad = police.get("/api/v1/calls?limit=0", token_of(essex_police));
    CHECK(bad.status == 400);
    CHECK(bad.json["error"]["pointer"] == "limit");
  }
}

namespace {
// GET /api/v1/geo?<query> is refused as a bad parameter naming `pointer`; returns the message.
std::string bad_geo_parameter(http_client& c, const std::string& query,
                              const std::string& pointer) {
  auto bad = c.get("/api/v1/geo?" + query, token_of(essex_fire));
  INFO(query << " -> " << bad.body);
  CHECK(bad.status == 400);
  CHECK(bad.json["error"]["code"] == "bl.request.bad_parameter");
  CHECK(bad.json["error"]["pointer"] == pointer);
  return bad.json["error"].value("message", std::string());
}
}  // namespace

TEST_CASE("GET /api/v1/geo converts both ways and names a bad parameter", "[system][geo]") {
  gateway_process gw;
  http_client c(gw.port());
  auto r = c.get("/api/v1/geo?lat=51.7356&lon=0.4685", token_of(essex_fire));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(std::abs(r.json["easting"].get<double>() - 570550) < 5);  // Helmert: see geo_test.cpp
  CHECK(std::abs(r.json["northing"].get<double>() - 206982) < 5);
  CHECK(r.json["grid_ref"].get<std::string>().substr(0, 3) == "TL ");
  CHECK(r.json["lat"] == 51.7356);

  r = c.get("/api/v1/geo?easting=570642&northing=206815", token_of(essex_fire));
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json["grid_ref"] == "TL 70642 06815");
  CHECK(std::abs(r.json["lat"].get<double>() - 51.73407) < 0.0001);
  CHECK(std::abs(r.json["lon"].get<double>() - 0.46975) < 0.0001);

  for (auto [query, pointer] :
       std::vector<std::pair<std::string, std::string>>{{"lat=51.7", "lon"},
                                                        {"lat=abc&lon=0.4", "lat"},
                                                        {"lat=48.8566&lon=2.3522", "lat"},
                                                        {"easting=800000&northing=1", "easting"},
                                                        {"", "lat"}})
    bad_geo_parameter(c, query, pointer);
  CHECK(c.get("/api/v1/geo?lat=51&lon=0", "").status == 401);
}

TEST_CASE("GET /api/v1/geo?q= reads a location as an operator types it", "[system][geo]") {
  gateway_process gw;
  http_client c(gw.port());
  // Grid references with letters in each precision, metres, and degrees as typed.
  for (auto [q, easting, northing, form] :
       std::vector<std::tuple<std::string, double, double, std::string>>{
           {"TL%20740%20035", 574000, 203500, "grid_ref"},
           {"TL7400003500", 574000, 203500, "grid_ref"},
           {"tl%2074000%2003500", 574000, 203500, "grid_ref"},
           {"574000%2C%20203500", 574000, 203500, "easting_northing"},
           {"51.7356%2C0.4685", 570550, 206982, "wgs84"},
           {"51%C2%B044.136'N%200%C2%B028.11'E", 570550, 206982, "wgs84"}}) {
    auto r = c.get("/api/v1/geo?q=" + q, token_of(essex_fire));
    INFO(q << " -> " << r.body);
    REQUIRE(r.status == 200);
    CHECK(std::abs(r.json["easting"].get<double>() - easting) < 5);
    CHECK(std::abs(r.json["northing"].get<double>() - northing) < 5);
    CHECK(r.json["input"]["form"] == form);
  }
  auto r = c.get("/api/v1/geo?q=TL%20740%20035", token_of(essex_fire));
  CHECK(r.json["grid_ref"] == "TL 74000 03500");
  CHECK(r.json["input"]["precision_m"] == 100);

  // A five-figure easting is not guessed; Paris is off the grid; q with lat is ambiguous.
  for (auto [q, says] :
       std::vector<std::pair<std::string, std::string>>{{"q=74000%2003500", "two letters"},
                                                        {"q=48.8566%2C2.3522", "outside"},
                                                        {"q=TL%20740%20035&lat=51", "only one of"}})
    CHECK_THAT(bad_geo_parameter(c, q, "q"), Catch::Contains(says));
}

TEST_CASE(
    "GET /api/v1/geo questions a location outside Great Britain or far from both agencies' "
    "areas",
    "[system][geo]") {
  gateway_process gw(json::object(), false);
  // Essex, as the demo configures it: Chelmsford, 50 km. The ambulance service has no area.
  for (auto& a : gw.config()["agencies"])
    if (a["id"] == essex_fire || a["id"] == essex_police)
      a["area"] = {{"centre", {{"lat", 51.7356}, {"lon", 0.4685}}}, {"radius_km", 50}};
  gw.start();
  http_client c(gw.port());
  auto geo = [&](const std::string& query) {
    auto r = c.get("/api/v1/geo?" + query, token_of(essex_fire));
    INFO(query << " -> " << r.body);
    REQUIRE(r.status == 200);
    return r.json;
  };
  const std::string fire_police = "&from=" + essex_fire + "&to=" + essex_police;
  auto in_essex = geo("q=TL%20740%20035" + fire_police);
  CHECK(in_essex["plausible"] == true);
  CHECK_FALSE(in_essex.contains("reason"));
  // Manchester (SJ 838 980), 250 km away from both.
  auto manchester = geo("q=SJ%20838%20980" + fire_police);
  CHECK(manchester["plausible"] == false);
  CHECK_THAT(manchester["reason"].get<std::string>(),
             Catch::Contains("from the centre of Essex Police's area"));
  // Without the agencies, or with one that has no area, only Great Britain is checked.
  CHECK(geo("q=SJ%20838%20980")["plausible"] == true);
  CHECK(geo("lat=53.48&lon=-2.24&from=" + essex_fire + "&to=" + eeast_ambulance)["plausible"] ==
        false);  // Fire's area still counts
  auto belfast = geo("lat=54.597&lon=-5.93");
  CHECK(belfast["plausible"] == false);
  CHECK_THAT(belfast["reason"].get<std::string>(), Catch::Contains("outside Great Britain"));
  // Degrees and minutes as a GPS unit shows them, in Essex.
  CHECK(geo("q=51%3A44.136N%200%3A28.11E" + fire_police)["plausible"] == true);
  CHECK_THAT(bad_geo_parameter(c, "q=TL%20740%20035&from=nowhere", "from"),
             Catch::Contains("names no agency"));
}

TEST_CASE("a dry run reports every bad field and stores nothing", "[system][messages]") {
  gateway_process gw;
  http_client c(gw.port());
  json msg = bl::test::a12_rtc_request(new_message_id(essex_fire, "dry"));
  auto ok = c.post("/api/v1/messages?dry_run=true", msg, token_of(essex_fire));
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  CHECK(ok.json == json{{"valid", true}});

  msg["body"]["priority"] = "whenever";
  msg["body"]["category"] = "fire.juggling";
  auto r = c.post("/api/v1/messages?dry_run=true", msg, token_of(essex_fire));
  INFO(r.body);
  REQUIRE(r.status == 422);
  CHECK(r.json["valid"] == false);
  CHECK(r.json["error"]["code"] == "bl.schema.invalid");
  std::set<std::string> pointers;
  for (const auto& e : r.json["errors"]) pointers.insert(e["pointer"].get<std::string>());
  CHECK(pointers == std::set<std::string>{"/body/priority", "/body/category"});

  auto other = c.post("/api/v1/messages?dry_run=true", msg, token_of(essex_police));
  CHECK(other.status == 403);
  CHECK(other.json["error"]["code"] == "bl.auth.sender_mismatch");

  // Nothing was stored: Fire has no transfers and Police's inbox is empty.
  auto transfers = c.get("/api/v1/transfers", token_of(essex_fire));
  REQUIRE(transfers.status == 200);
  CHECK(transfers.json["transfers"].empty());
  auto inbox = c.get("/api/v1/inbox", token_of(essex_police));
  REQUIRE(inbox.status == 200);
  CHECK(inbox.json["deliveries"].empty());
}
