// An agency's own outage against the real gateway over HTTP (issue 16): a room with no CAD link
// and no console for its outage_after_s is shown out in GET /api/v1/links with its phone and
// fallback room, logged and counted in /metrics; its sender redirects a pending transfer to the
// fallback with POST /api/v1/redirects, once however often it asks, and every refusal is coded.

#include <chrono>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "gateway/core/digest.hpp"
#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;
using namespace bl::test;

const std::string kent_police = "kent-police";

std::string token_of(const std::string& agency) {
  return gateway_process::token(agency);
}

/// The default test gateway with Kent Police as Essex Police's fallback room, and Essex Police
/// out after 10 s without a CAD or console (the other rooms keep the default two minutes).
void add_buddy(gateway_process& gw) {
  auto& cfg = gw.config();
  for (auto& a : cfg["agencies"])
    if (a["id"] == essex_police) {
      a["fallback"] = {{"agency", kent_police},
                       {"note", "Kent Police control takes Essex calls when Essex is evacuated"}};
      a["outage_after_s"] = 10;
    }
  cfg["agencies"].push_back({{"id", kent_police},
                             {"name", "Kent Police"},
                             {"kind", "police"},
                             {"phone", "01632 960400"}});
  cfg["tokens"].push_back({{"agency", kent_police},
                           {"sha256", bl::sha256_hex(token_of(kent_police))},
                           {"label", "system test token for kent-police"}});
}

json link_of(http_client& c, const std::string& agency) {
  auto r = c.get("/api/v1/links", token_of(essex_fire));
  REQUIRE(r.status == 200);
  for (const auto& l : r.json["links"])
    if (l["agency"] == agency) return l;
  FAIL("no link row for " << agency);
  return {};
}

http_response redirect(http_client& c, const std::string& agency, const json& body) {
  return c.post("/api/v1/redirects", body, token_of(agency));
}

std::string code_of(const http_response& r) {
  return r.json.is_discarded() ? r.body : r.json["error"].value("code", std::string());
}

}  // namespace

TEST_CASE(
    "a room silent for its outage time is shown out with its fallback, and a pending transfer "
    "to it is redirected there once",
    "[system][outage]") {
  gateway_process gw(json::object(), false);
  add_buddy(gw);
  gw.start();
  http_client c(gw.port());

  auto police = link_of(c, essex_police);
  CHECK(police["outage"].is_null());
  CHECK(police["fallback"]["agency"] == kent_police);
  CHECK(police["fallback"]["name"] == "Kent Police");
  CHECK(police["fallback"]["phone"] == "01632 960400");

  auto sent = c.post("/api/v1/messages", a12_rtc_request(new_message_id(essex_fire, "rtc")),
                     token_of(essex_fire));
  REQUIRE(sent.status == 202);
  const std::string tid = sent.json["receipt"]["transfer_id"];

  // Nobody has connected for Essex Police since the start: out after 10 s, at the next look.
  REQUIRE(eventually([&] { return !link_of(c, essex_police)["outage"].is_null(); },
                     std::chrono::seconds(20), std::chrono::milliseconds(200)));
  police = link_of(c, essex_police);
  CHECK(police["outage"]["phone"] == "01632 960200");
  CHECK(police["outage"]["fallback"]["agency"] == kent_police);
  CHECK(police["outage"]["for_s"].get<int>() >= 10);
  CHECK(police["outage"]["after_s"] == 10);
  CHECK(link_of(c, essex_fire)["outage"].is_null());  // two minutes for the others
  CHECK(eventually([&] {
    return gw.stderr_text().find("event=agency_outage_began agency=essex-police") !=
           std::string::npos;
  }));
  auto metrics = c.get("/metrics", "");
  CHECK(metrics.body.find("bluelink_agency_outage{agency=\"essex-police\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("bluelink_agency_outage{agency=\"essex-fire\"} 0") != std::string::npos);

  SECTION("the redirect is refused with a specific code when it may not be done") {
    CHECK(code_of(redirect(c, essex_police, {{"transfer_id", tid}})) == "bl.transfer.not_sender");
    CHECK(code_of(redirect(c, eeast_ambulance, {{"transfer_id", tid}})) == "bl.transfer.not_found");
    CHECK(code_of(redirect(c, essex_fire, {{"transfer_id", "T-20000101-000001"}})) ==
          "bl.transfer.not_found");
    auto bad = redirect(c, essex_fire, {{"transfer_id", tid}, {"to", kent_police}});
    CHECK(bad.status == 422);
    CHECK(code_of(bad) == "bl.schema.invalid");
    auto amb = c.post("/api/v1/messages", casualty_care_request(new_message_id(essex_fire, "amb")),
                      token_of(essex_fire));
    REQUIRE(amb.status == 202);
    auto none = redirect(c, essex_fire, {{"transfer_id", amb.json["receipt"]["transfer_id"]}});
    CHECK(none.status == 409);
    CHECK(code_of(none) == "bl.transfer.no_fallback");
    CHECK(c.get("/api/v1/transfers/" + tid, token_of(essex_fire)).json["transfer"]["state"] ==
          "submitted");
  }

  SECTION("the sender redirects it to the fallback in one action, and a retry changes nothing") {
    auto first = redirect(c, essex_fire, {{"transfer_id", tid}, {"reason", "Essex evacuated"}});
    INFO(first.body);
    REQUIRE(first.status == 201);
    CHECK(first.json["transfer_id"] == tid);
    CHECK(first.json["to"] == kent_police);
    CHECK(first.json["already_redirected"] == false);
    const std::string new_tid = first.json["new_transfer_id"];

    auto again = redirect(c, essex_fire, {{"transfer_id", tid}});
    CHECK(again.status == 200);
    CHECK(again.json["new_transfer_id"] == new_tid);
    CHECK(again.json["already_redirected"] == true);
    CHECK(gw.query_int("SELECT count(*) FROM transfers WHERE responder = 'kent-police'") == 1);

    // Both parties of the original see it redirected and where it went.
    for (const auto& who : {essex_fire, essex_police}) {
      auto old = c.get("/api/v1/transfers/" + tid, token_of(who)).json["transfer"];
      CHECK(old["state"] == "redirected");
      bool linked = false;
      for (const auto& e : old["timeline"])
        if (e["kind"] == "transfer.cancel" &&
            e["detail"]["redirected_to"]["transfer_id"] == new_tid)
          linked = true;
      CHECK(linked);
    }
    auto now_kent = c.get("/api/v1/transfers/" + new_tid, token_of(kent_police));
    REQUIRE(now_kent.status == 200);
    CHECK(now_kent.json["transfer"]["from"] == essex_fire);
    CHECK(now_kent.json["transfer"]["state"] == "submitted");
    // Kent's inbox has the request; Essex Police's has the withdrawal after it.
    auto kent_inbox = c.get("/api/v1/inbox?wait=0", token_of(kent_police));
    REQUIRE(kent_inbox.status == 200);
    REQUIRE(kent_inbox.json["deliveries"].size() == 1);
    CHECK(kent_inbox.json["deliveries"][0]["message"]["transfer_id"] == new_tid);
    auto police_inbox = c.get("/api/v1/inbox?wait=0", token_of(essex_police));
    REQUIRE(police_inbox.json["deliveries"].size() == 2);
    CHECK(police_inbox.json["deliveries"][1]["message"]["type"] == "transfer.cancel");
    CHECK(eventually([&] {
      return gw.stderr_text().find("event=transfer_redirected transfer_id=" + tid) !=
             std::string::npos;
    }));
  }
}

TEST_CASE(
    "a room whose own system polls its inbox over HTTP is not out, and the edge it uses is shown",
    "[system][outage]") {
  // Essex Police has no CAD link session and no console here, only an integration that long-polls
  // its inbox with its bearer token: it is there, so no outage begins after its 10 s.
  gateway_process gw(json::object(), false);
  add_buddy(gw);
  gw.start();
  http_client c(gw.port());
  http_client poller(gw.port());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(14);
  while (std::chrono::steady_clock::now() < until) {
    auto r = poller.get("/api/v1/inbox?wait=1", token_of(essex_police));
    REQUIRE(r.status == 200);
  }
  auto police = link_of(c, essex_police);
  CHECK(police["outage"].is_null());
  CHECK(police["cad"].is_null());
  REQUIRE(police["edges"].is_array());
  REQUIRE(police["edges"].size() == 1);
  CHECK(police["edges"][0]["kind"] == "api");
  CHECK(police["edges"][0]["last_heard_age_s"].get<double>() < 5);
  CHECK(gw.stderr_text().find("event=agency_outage_began agency=essex-police") ==
        std::string::npos);
  auto metrics = c.get("/metrics", "");
  CHECK(metrics.body.find("bluelink_agency_outage{agency=\"essex-police\"} 0") !=
        std::string::npos);
  // Kent Police, silent for the default two minutes, is not out yet either; nothing says it is.
  CHECK(link_of(c, kent_police)["edges"].empty());
}
