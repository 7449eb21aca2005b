// An agency's own outage (issue 16): when its room counts as out, from when, and the fallback
// room in the config, with time passed in as an injected clock would give it.

#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/service/link_registry.hpp"
#include "gateway/service/outage_monitor.hpp"
#include "tests/support/sample_messages.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;
using nlohmann::json;
using std::chrono::seconds;

namespace {
const time_point start = *parse_rfc3339("2026-11-21T14:00:00Z");

gateway_config two_rooms() {
  auto c = test::essex_config();
  for (auto& a : c.agencies) a.outage_after_s = 120;
  for (auto& a : c.agencies)
    if (a.id == "eeast-ambulance") a.outage_after_s = 30;
  return c;
}

std::string refusal(const json& doc) {
  return test::config_refusal(doc);
}
}  // namespace

TEST_CASE("an agency never connected since the start is out once its outage time has passed",
          "[unit][outage]") {
  auto cfg = two_rooms();
  outage_monitor m(cfg, start);
  const std::set<std::string> only_fire = {"essex-fire"};
  CHECK(m.observe(start + seconds(29), only_fire).empty());
  auto changes = m.observe(start + seconds(30), only_fire);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].agency == "eeast-ambulance");
  CHECK(changes[0].began);
  CHECK(changes[0].since == start);  // counted from the gateway's start
  CHECK(m.observe(start + seconds(119), only_fire).empty());
  changes = m.observe(start + seconds(120), only_fire);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].agency == "essex-police");
  CHECK(m.out_since("essex-police") == start);
  CHECK_FALSE(m.out_since("essex-fire"));
  CHECK(m.current().size() == 2);
}

TEST_CASE("an outage counts from when the room was last connected and ends when it returns",
          "[unit][outage]") {
  auto cfg = two_rooms();
  outage_monitor m(cfg, start);
  const std::set<std::string> all = {"essex-fire", "essex-police", "eeast-ambulance"};
  const std::set<std::string> no_police = {"essex-fire", "eeast-ambulance"};
  CHECK(m.observe(start + seconds(600), all).empty());
  // Police's CAD and consoles go at 600 s: not out at 719 s, out at 720 s, since 600 s.
  CHECK(m.observe(start + seconds(601), no_police).empty());
  CHECK(m.observe(start + seconds(719), no_police).empty());
  auto began = m.observe(start + seconds(720), no_police);
  REQUIRE(began.size() == 1);
  CHECK(began[0].since == start + seconds(600));
  CHECK(m.observe(start + seconds(800), no_police).empty());  // once, not at every look
  auto ended = m.observe(start + seconds(801), all);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].agency == "essex-police");
  CHECK_FALSE(ended[0].began);
  CHECK_FALSE(m.out_since("essex-police"));
  // Back for a moment resets the count: a brief reconnection is not an outage.
  CHECK(m.observe(start + seconds(899), no_police).empty());
  CHECK(m.observe(start + seconds(900), all).empty());
  CHECK(m.observe(start + seconds(1019), no_police).empty());
  CHECK(m.observe(start + seconds(1020), no_police).size() == 1);
  CHECK(m.out_since("essex-police") == start + seconds(900));
}

TEST_CASE("a CAD link up or a console signed in on any node counts as connected",
          "[unit][outage]") {
  link_registry links;
  links.set_node("node-a");
  link_state fire;
  fire.agency = "essex-fire";
  fire.up = true;
  links.update(fire);
  link_state police_down;
  police_down.agency = "essex-police";
  police_down.up = false;
  links.update(police_down);
  peer_links b;
  b.node = "node-b";
  b.consoles = {{"eeast-ambulance", 1}, {"essex-police", 0}};
  links.set_peers({b});
  const auto now = start;
  CHECK(connected_agencies(links, {}, now, seconds(90)) ==
        std::set<std::string>{"essex-fire", "eeast-ambulance"});
  CHECK(connected_agencies(links, {{"essex-police", 2}}, now, seconds(90)) ==
        std::set<std::string>{"essex-fire", "essex-police", "eeast-ambulance"});
}

TEST_CASE("an agency heard over HTTP, UCRI2 or EIDO on any node counts as connected for a while",
          "[unit][outage]") {
  // A room whose own system polls its inbox, or talks UCRI2 or EIDO, has no CAD link session and
  // may have no console signed in: it is there as long as it keeps asking.
  gateway_config cfg;
  cfg.max_wait_s = 60;
  const auto grace = polled_edge_grace(cfg);
  CHECK(grace == seconds(90));  // the longest long-poll, and 30 s to ask again

  link_registry links;
  links.set_node("node-a");
  links.heard("essex-police", "api", start);
  links.heard("essex-police", "api", start - seconds(5));  // an older answer never goes back
  CHECK(connected_agencies(links, {}, start + seconds(90), grace) ==
        std::set<std::string>{"essex-police"});
  CHECK(connected_agencies(links, {}, start + seconds(91), grace).empty());

  // Heard by another node: published with its links, and the latest hearing anywhere counts.
  peer_links b;
  b.node = "node-b";
  link_state eido;
  eido.agency = "essex-police";
  eido.kind = "eido";
  eido.up = true;
  eido.node = "node-b";
  eido.last_heard = start + seconds(60);
  link_state ucri2 = eido;
  ucri2.agency = "eeast-ambulance";
  ucri2.kind = "ucri2";
  ucri2.last_heard = start + seconds(100);
  b.links = {eido, ucri2};
  links.set_peers({b});
  CHECK(connected_agencies(links, {}, start + seconds(150), grace) ==
        std::set<std::string>{"essex-police", "eeast-ambulance"});
  CHECK(connected_agencies(links, {}, start + seconds(151), grace) ==
        std::set<std::string>{"eeast-ambulance"});
  // Seen from node A, the agency's EIDO edge is node B's.
  auto seen = links.find("essex-police", "eido");
  REQUIRE(seen);
  CHECK(seen->node == "node-b");
  // Its own heard link is what node A publishes to the others.
  auto mine = links.local();
  REQUIRE(mine.size() == 1);
  CHECK(mine[0].kind == "api");
  CHECK(mine[0].node == "node-a");
  CHECK(mine[0].last_heard == start);
}

TEST_CASE("a fallback room must be another configured agency", "[unit][config][outage]") {
  auto doc = test::read_json(std::filesystem::path(BL_SOURCE_DIR) /
                             "schemas/examples/valid/config/full-essex.json");
  REQUIRE_NOTHROW(config_from_json(doc));
  SECTION("a buddy that is configured is read with its note and the outage time") {
    doc["agencies"][1]["fallback"] = {{"agency", doc["agencies"][0]["id"]}, {"note", "buddy"}};
    doc["agencies"][1]["outage_after_s"] = 300;
    auto c = config_from_json(doc);
    CHECK(c.agencies[1].fallback_agency == doc["agencies"][0]["id"]);
    CHECK(c.agencies[1].fallback_note == "buddy");
    CHECK(c.agencies[1].outage_after_s == 300);
    CHECK(c.agencies[0].fallback_agency.empty());
    CHECK(c.agencies[0].outage_after_s == 120);
  }
  SECTION("itself") {
    doc["agencies"][1]["fallback"] = {{"agency", doc["agencies"][1]["id"]}};
    CHECK_THAT(refusal(doc), Catch::StartsWith("/agencies/1/fallback/agency: agency '"));
    CHECK_THAT(refusal(doc), Catch::Contains("cannot be its own fallback"));
  }
  SECTION("an agency that is not configured") {
    doc["agencies"][1]["fallback"] = {{"agency", "kent-police"}};
    CHECK(refusal(doc) ==
          "/agencies/1/fallback/agency: unknown agency 'kent-police' (a fallback must be one of "
          "the configured agencies)");
  }
}
