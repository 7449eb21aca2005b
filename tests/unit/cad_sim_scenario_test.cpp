// The CAD simulator's scenarios (tools/cad_sim/scenarios/) against their schema
// (schemas/sim/scenario.schema.json), the request categories they cover, and the CAD incident
// numbering the simulator stamps on requests and accepts.

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"
#include "gateway/schema/schema_set.hpp"
#include "tools/cad_sim/scenario.hpp"

using namespace bl;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
const fs::path root = BL_SOURCE_DIR;
const fs::path scenario_dir = root / "tools/cad_sim/scenarios";

const schema_set& schemas() {
  static schema_set s(root / "schemas");
  return s;
}

json read(const fs::path& p) {
  std::ifstream in(p);
  return json::parse(in);
}

std::vector<fs::path> shipped_scenarios() {
  std::vector<fs::path> out;
  for (auto& e : fs::directory_iterator(scenario_dir))
    if (e.path().extension() == ".json") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const std::optional<error>& e) {
  return e ? "'" + e->pointer + "': " + e->message : std::string("accepted");
}

// 2026-11-21T14:02:11Z, the day of the message model's examples.
const time_point example_day = *parse_rfc3339("2026-11-21T14:02:11Z");
}  // namespace

TEST_CASE("a scenario ships for each of the three demo control rooms", "[unit][cad_sim]") {
  std::set<std::string> agencies;
  for (const auto& f : shipped_scenarios())
    agencies.insert(read(f).at("agency").get<std::string>());
  CHECK(agencies == std::set<std::string>{"essex-fire", "essex-police", "eeast-ambulance"});
  for (const auto& f : shipped_scenarios()) {
    INFO(f.filename().string());
    CHECK(f.stem().string() == read(f).at("agency").get<std::string>());
  }
}

TEST_CASE("every shipped scenario validates against the scenario schema and loads",
          "[unit][cad_sim]") {
  auto files = shipped_scenarios();
  REQUIRE(files.size() == 3);
  for (const auto& f : files) {
    INFO(f.filename().string());
    auto e = schemas().validate("sim/scenario", read(f));
    CHECK(describe(e) == "accepted");
    CHECK_NOTHROW(sim::load_scenario(f, schemas()));
  }
}

TEST_CASE("the shipped scenarios together originate every request category", "[unit][cad_sim]") {
  auto request_schema = read(root / "schemas/message/transfer.request.schema.json");
  auto all =
      request_schema.at("/properties/category/enum"_json_pointer).get<std::set<std::string>>();
  REQUIRE(all.size() == 11);
  std::set<std::string> covered;
  for (const auto& f : shipped_scenarios())
    for (const auto& t : sim::load_scenario(f, schemas()).requests) covered.insert(t.category);
  CHECK(covered == all);
}

TEST_CASE("the scenario schema lists exactly the message model's request categories",
          "[unit][cad_sim]") {
  auto request_schema = read(root / "schemas/message/transfer.request.schema.json");
  auto scenario_schema = read(root / "schemas/sim/scenario.schema.json");
  auto ptr = "/properties/requests/items/properties/category/enum"_json_pointer;
  CHECK(scenario_schema.at(ptr) == request_schema.at("/properties/category/enum"_json_pointer));
}

TEST_CASE("every request a shipped scenario can send is a valid transfer.request",
          "[unit][cad_sim]") {
  for (const auto& f : shipped_scenarios()) {
    auto sc = sim::load_scenario(f, schemas());
    for (const auto& t : sc.requests) {
      INFO(f.filename().string() << " " << t.name);
      auto number = sim::format_incident_number(sc.incident_format, 4512, now_ms());
      auto m = sim::make_request(sc, t, sc.agency + ":test-1", number, "exercise", now_ms());
      CHECK(describe(schemas().validate_message(m)) == "accepted");
      CHECK(m.at("from") == sc.agency);
      CHECK(m.at("to") == json::array({t.to}));
      CHECK(m.at("/body/sender_incident/number"_json_pointer) == number);
      CHECK(m.at("/body/sender_incident/system"_json_pointer) == sc.cad_system);
      CHECK(t.to != sc.agency);
    }
  }
}

TEST_CASE("a scenario with a misspelt or out-of-range policy is refused at start",
          "[unit][cad_sim]") {
  auto good = read(scenario_dir / "essex-fire.json");

  SECTION("an unknown key names itself in the pointer") {
    auto doc = good;
    doc["receiver"]["decision"]["acept"] = 0.5;
    try {
      sim::parse_scenario(doc, schemas(), "test");
      FAIL("accepted");
    } catch (const sim::scenario_error& e) {
      CHECK_THAT(e.what(), Catch::Contains("/receiver/decision/acept"));
    }
  }
  SECTION("a probability above 1") {
    auto doc = good;
    doc["requester"]["update"]["probability"] = 1.5;
    CHECK_THROWS_AS(sim::parse_scenario(doc, schemas(), "test"), sim::scenario_error);
  }
  SECTION("a delay whose minimum exceeds its maximum") {
    auto doc = good;
    doc["receiver"]["received"]["after"] = {{"min_s", 5}, {"max_s", 1}};
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/receiver/received/after"));
  }
  SECTION("M/ETHANE content that the message schema refuses") {
    auto doc = good;
    doc["requests"][0]["methane"]["hazards"][0]["status"] = "maybe";
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/requests/0/methane/hazards/0/status"));
  }
  SECTION("an update that would not make a valid transfer.update") {
    auto doc = good;
    doc["requests"][0]["updates"][0]["priority"] = "high";
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/requests/0/updates/0"));
  }
  SECTION("a request addressed to the CAD's own agency") {
    auto doc = good;
    doc["requests"][0]["to"] = "essex-fire";
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/requests/0/to"));
  }
  SECTION("an incident format without the running number") {
    auto doc = good;
    doc["cad"]["incident_format"] = "F-{yymm}";
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/cad/incident_format"));
  }
  SECTION("a receiver that can neither accept nor decline") {
    auto doc = good;
    doc["receiver"]["decision"]["accept"] = 0;
    doc["receiver"]["decision"]["decline"] = 0;
    CHECK_THROWS_WITH(sim::parse_scenario(doc, schemas(), "test"),
                      Catch::Contains("/receiver/decision"));
  }
}

TEST_CASE("incident numbers follow each CAD's own format", "[unit][cad_sim]") {
  CHECK(sim::format_incident_number("F-{yymm}-{n:06}", 4512, example_day) == "F-2611-004512");
  CHECK(sim::format_incident_number("ESX-{yyyymmdd}-{n:04}", 457, example_day) ==
        "ESX-20261121-0457");
  CHECK(sim::format_incident_number("EEAST-{n:07}", 1377, example_day) == "EEAST-0001377");
  CHECK(sim::format_incident_number("{yyyy}/{mm}/{dd}/{yy}-{n}", 9, example_day) ==
        "2026/11/21/26-9");
}

TEST_CASE("an incident number wider than its padding is not cut", "[unit][cad_sim]") {
  CHECK(sim::format_incident_number("ESX-{yyyymmdd}-{n:04}", 123456, example_day) ==
        "ESX-20261121-123456");
  CHECK(sim::format_incident_number("F-{n:010}", 42, example_day) == "F-0000000042");
}

TEST_CASE("the incident date is the UTC date", "[unit][cad_sim]") {
  auto late = *parse_rfc3339("2026-12-31T23:59:59-01:00");  // 2027-01-01T00:59:59Z
  CHECK(sim::format_incident_number("F-{yymm}-{n:06}", 1, late) == "F-2701-000001");
}

TEST_CASE("a malformed incident format is refused with the reason", "[unit][cad_sim]") {
  CHECK_THROWS_WITH(sim::format_incident_number("F-{yymm}", 1, example_day),
                    Catch::Contains("no {n}"));
  CHECK_THROWS_WITH(sim::format_incident_number("F-{n}-{n}", 1, example_day),
                    Catch::Contains("more than one"));
  CHECK_THROWS_WITH(sim::format_incident_number("F-{hh}-{n}", 1, example_day),
                    Catch::Contains("{hh}"));
  CHECK_THROWS_WITH(sim::format_incident_number("F-{n", 1, example_day),
                    Catch::Contains("unterminated"));
  CHECK_THROWS_WITH(sim::format_incident_number("F-}{n}", 1, example_day),
                    Catch::Contains("unmatched"));
  CHECK_THROWS_WITH(sim::format_incident_number("F-{n:00}", 1, example_day),
                    Catch::Contains("{n:00}"));
  CHECK_THROWS_AS(sim::format_incident_number("F-{n}", -1, example_day), std::invalid_argument);
  CHECK_THROWS_WITH(sim::format_incident_number(std::string(38, 'X') + "{n:04}", 1, example_day),
                    Catch::Contains("longer than 40"));
}

TEST_CASE("the schema and the formatter agree on which incident formats are valid",
          "[unit][cad_sim]") {
  auto doc = read(scenario_dir / "eeast-ambulance.json");
  for (const std::string fmt : {"EEAST-{n:07}", "F-{yymm}-{n:06}", "{n}", "X{n}{yyyy}"}) {
    INFO(fmt);
    doc["cad"]["incident_format"] = fmt;
    CHECK(describe(schemas().validate("sim/scenario", doc)) == "accepted");
    CHECK_NOTHROW(sim::format_incident_number(fmt, 1, example_day));
  }
  for (const std::string fmt : {"EEAST-{n:00}", "F-{yymm}", "{n}{n}", "F-{hh}{n}"}) {
    INFO(fmt);
    doc["cad"]["incident_format"] = fmt;
    CHECK(describe(schemas().validate("sim/scenario", doc)) != "accepted");
    CHECK_THROWS_AS(sim::format_incident_number(fmt, 1, example_day), std::invalid_argument);
  }
}
