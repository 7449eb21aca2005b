// The M/ETHANE text rendering: the A12 example read line by line, wrapping at 72 characters,
// UTF-8 as written, and "not given" for what a message leaves out.

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/text/methane_text.hpp"
#include "tests/support/test_helpers.hpp"

namespace {

using nlohmann::json;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

json a12() {
  return bl::test::read_json(std::string(BL_SOURCE_DIR) +
                             "/schemas/examples/valid/message/"
                             "01-request-police-traffic-management-a12-rtc.json");
}

bool has_line(const std::vector<std::string>& lines, const std::string& want) {
  for (const auto& l : lines)
    if (l == want) return true;
  return false;
}

}  // namespace

TEST_CASE("the A12 request reads out in JESIP order with its key lines", "[unit][methane]") {
  auto msg = a12();
  msg["transfer_id"] = "T-20261121-000123";
  auto text = bl::adapters::methane_text(msg);
  auto lines = lines_of(text);
  INFO(text);
  REQUIRE(lines.size() > 20);
  CHECK(lines[0] == "BLUELINK TRANSFER REQUEST - EMERGENCY");
  CHECK(has_line(lines, "Transfer:                 T-20261121-000123"));
  CHECK(has_line(lines, "From -> to:               essex-fire -> essex-police"));
  CHECK(has_line(lines, "Priority:                 EMERGENCY"));
  CHECK(has_line(lines, "Category:                 Police: traffic management / road closure"));
  CHECK(has_line(lines, "Sent:                     Sat 21 Nov 2026 14:02:11 GMT (14:02:11 UTC)"));
  CHECK(has_line(lines, "Sender incident:          F-2611-004512 (ECFRS Vision)"));
  CHECK(has_line(lines, "M  Major incident:        Not declared"));
  CHECK(has_line(lines, "E  Exact location:        A12 London-bound carriageway between J19"));
  CHECK(has_line(lines, "                          Grid ref: TL 74520 05704 (E 574520 N 205704)"));
  CHECK(has_line(lines, "                          Lat/lon: 51.72290, 0.52530 (+/- 25 m)"));
  CHECK(
      has_line(lines, "T  Type of incident:      RTC (RTC-PERSONS-TRAPPED) - Two-car collision,"));
  CHECK(has_line(lines, "H  Hazards:               Present: Live traffic on lane 3"));
  CHECK(has_line(lines, "                          Suspected: Fuel leak from vehicle 2"));
  CHECK(has_line(lines, "                          Potential: Secondary collision in queuing"));
  CHECK(has_line(lines, "A  Access:                Approach London-bound from J19; London-bound"));
  CHECK(has_line(lines, "N  Number of casualties:  Immediate 1, Minor 1, Uninjured 2"));
  CHECK(has_line(lines, "E  Emergency services:    Present: Fire: 2 pumps and rescue tender"));
  CHECK(has_line(lines, "Ask:                      Attend - send resources"));
  CHECK(has_line(lines, "Contact:                  FCO Sarah Patel, Fire Control Operator, 01632"));
  CHECK(has_line(lines, "                          960101"));

  // M, E, T, H, A, N, E in that order.
  std::vector<std::string> order = {"M  ", "E  Exact", "T  ", "H  ", "A  ", "N  ", "E  Emerg"};
  std::size_t at = 0;
  for (const auto& l : lines)
    if (at < order.size() && l.rfind(order[at], 0) == 0) ++at;
  CHECK(at == order.size());
  for (const auto& l : lines) CHECK(l.size() <= 72);  // this example is all ASCII
}

TEST_CASE("missing parts say not given and summer times are BST", "[unit][methane]") {
  json msg = {{"type", "transfer.request"},
              {"from", "essex-police"},
              {"to", {"essex-fire"}},
              {"sent_at", "2026-07-01T09:30:00Z"},
              {"body",
               {{"category", "fire.forced_entry"},
                {"priority", "urgent"},
                {"ask", "attend"},
                {"summary", "Collapsed behind closed doors \xE2\x80\x93 caf\xC3\xA9 flat"},
                {"methane",
                 {{"major_incident", "not_declared"},
                  {"exact_location", {{"postcode", "co1 1aa"}}},
                  {"type_of_incident", {{"code", "CBCD"}, {"text", "Elderly man collapsed"}}}}}}}};
  auto lines = lines_of(bl::adapters::methane_text(msg));
  CHECK(has_line(lines, "Transfer:                 not yet assigned"));
  CHECK(has_line(lines, "Sent:                     Wed 1 Jul 2026 10:30:00 BST (09:30:00 UTC)"));
  CHECK(has_line(
      lines,
      "Summary:                  Collapsed behind closed doors \xE2\x80\x93 caf\xC3\xA9 flat"));
  CHECK(has_line(lines, "E  Exact location:        Postcode: CO1 1AA"));
  CHECK(has_line(lines, "H  Hazards:               not given"));
  CHECK(has_line(lines, "A  Access:                not given"));
  CHECK(has_line(lines, "N  Number of casualties:  not given"));
  CHECK(has_line(lines, "E  Emergency services:    not given"));
  CHECK(has_line(lines, "Contact:                  not given"));
  CHECK(has_line(lines, "Notes:                    not given"));
}

TEST_CASE("long words are split and grid references are grouped", "[unit][methane]") {
  auto w = bl::adapters::wrap(std::string(100, 'x'), "Label: ", 7, 72);
  auto lines = lines_of(w);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].size() == 72);
  CHECK(lines[1] == "       " + std::string(35, 'x'));
  CHECK(bl::adapters::os_grid_letters(570900, 206800) == "TL 70900 06800");
  CHECK(bl::adapters::os_grid_letters(326000, 673000) == "NT 26000 73000");
  CHECK(bl::adapters::os_grid_letters(800000, 100) == "");
}

TEST_CASE("an exercise is marked and a cancel gives its reason", "[unit][methane]") {
  const std::string dir = std::string(BL_SOURCE_DIR) + "/schemas/examples/valid/message/";
  auto ex = lines_of(bl::adapters::methane_text(
      bl::test::read_json(dir + "12-request-exercise-major-incident-wickford.json")));
  CHECK(ex[0] == "EXERCISE EXERCISE EXERCISE");
  CHECK(has_line(ex, "M  Major incident:        DECLARED"));
  CHECK(has_line(ex, "N  Number of casualties:  Fatal 2, Immediate 6, Urgent 11, Delayed 24,"));
  auto cancel = lines_of(bl::adapters::methane_text(
      bl::test::read_json(dir + "19-cancel-hanningfield-misper-found.json")));
  CHECK(cancel[0] == "BLUELINK TRANSFER CANCELLED");
  CHECK(has_line(cancel, "Transfer:                 T-20261121-000058"));
  CHECK(has_line(cancel, "Reason:                   Missing person located safe and well at a"));
}

TEST_CASE("text in any script stays as written and wraps by characters", "[unit][methane]") {
  // Polish and Hebrew place names, as a partner's alert gives them: no '?' and no look-alikes.
  const std::string polish =
      "Zagro\xC5\xBC"
      "enie powodziowe: \xC5\x81\xC3\xB3"
      "d\xC5\xBA, "
      "\xC5\x9Bl\xC4\x85skie";
  const std::string hebrew = "\xD7\x99\xD7\xA8\xD7\x95\xD7\xA9\xD7\x9C\xD7\x99\xD7\x9D";
  auto w = bl::adapters::wrap(polish + " " + hebrew, "", 0, 72);
  CHECK(w == polish + " " + hebrew + "\n");
  // 40 two-byte characters on a 30-character line: split between characters, not bytes.
  std::string word;
  for (int i = 0; i < 40; ++i) word += "\xC5\x82";
  auto lines = lines_of(bl::adapters::wrap(word, "", 0, 30));
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].size() == 60);
  CHECK(lines[1].size() == 20);
  // Line breaks in the text are kept, a blank line too.
  CHECK(bl::adapters::wrap("LOCATION: 12 Cox Street\nSTATUS: Out of Control\n\nWeb: x", "N: ", 3,
                           72) ==
        "N: LOCATION: 12 Cox Street\n   STATUS: Out of Control\n\n   Web: x\n");
  // Control characters become spaces; bytes that are not UTF-8 become U+FFFD.
  CHECK(bl::adapters::clean_text("a\tb\x01"
                                 "c\xC2\x85"
                                 "d\xFF\xC3(") == "a b c d\xEF\xBF\xBD\xEF\xBF\xBD(");
}

TEST_CASE("a translated alert lists its areas and what it did not carry", "[unit][methane]") {
  json msg = {{"type", "transfer.request"},
              {"from", "ec-weather"},
              {"to", {"essex-fire"}},
              {"sent_at", "2026-07-01T09:30:00Z"},
              {"source",
               {{"standard", "CAP 1.2"},
                {"sender", "cap@ec.gc.ca"},
                {"not_carried", {"<info> 2 of 2 (fr-CA): the same alert in French"}}}},
              {"body",
               {{"category", "notification"},
                {"priority", "urgent"},
                {"ask", "for_information"},
                {"summary", "Wind warning"},
                {"sender_incident", {{"number", "x"}, {"system", "CAP"}}},
                {"methane",
                 {{"major_incident", "not_declared"},
                  {"exact_location",
                   {{"areas",
                     {{{"description",
                        "Qu\xC3\xA9"
                        "bec"},
                       {"polygons", {{{46.0, -71.0}, {46.0, -70.0}, {47.0, -70.0}, {46.0, -71.0}}}},
                       {"circles", {{{"lat", 46.5}, {"lon", -70.5}, {"radius_m", 25000}}}},
                       {"geocodes", {{{"name", "CAP-CP"}, {"value", "2423027"}}}}}}}}},
                  {"type_of_incident", {{"code", "WEATHER"}, {"text", "wind"}}}}}}}};
  auto lines = lines_of(bl::adapters::methane_text(msg));
  CHECK(has_line(lines,
                 "E  Exact location:        Area 1: Qu\xC3\xA9"
                 "bec"));
  CHECK(has_line(lines, "                          - polygon of 4 points around 46.25000,"));
  CHECK(
      has_line(lines, "                          - circle around 46.50000, -70.50000, radius 25"));
  CHECK(has_line(lines, "                          - codes: CAP-CP 2423027"));
  CHECK(has_line(lines, "Source document:          CAP 1.2 from cap@ec.gc.ca"));
  CHECK(has_line(lines, "Not carried:              <info> 2 of 2 (fr-CA): the same alert in"));
}
