// The demo's telephony history (tools/cli/demo_history.hpp).
#include <catch2/catch.hpp>

#include <map>
#include <sstream>
#include <string>

#include "tests/support/test_helpers.hpp"
#include "tools/cli/demo_history.hpp"

using namespace bl;

namespace {
time_point at(const char* rfc3339) {
  return *parse_rfc3339(rfc3339);
}
}  // namespace

TEST_CASE("the demo's go-live is the first of the month four months back", "[unit][demo]") {
  CHECK(demo::default_go_live(at("2026-12-05T13:00:00Z")) == "2026-08-01");
  CHECK(demo::default_go_live(at("2027-02-28T23:30:00Z")) == "2026-10-01");
  // 23:30 UTC on 31 March is already April in the UK (BST).
  CHECK(demo::default_go_live(at("2027-03-31T23:30:00Z")) == "2026-12-01");
}

TEST_CASE("a year before go-live averages the baseline; the fourth month after is 53 % down",
          "[unit][demo]") {
  const year_month go_live{2026, 8};
  for (const auto& d : demo::essex_directions()) {
    INFO(d.tag);
    int sum = 0;
    for (int i = 1; i <= 12; ++i) sum += demo::calls_in_month(d, go_live.plus(-i), go_live);
    CHECK(sum == 12 * d.baseline_per_month);
  }
  const auto fire_police = demo::essex_directions().at(0);
  CHECK(fire_police.baseline_per_month == 400);
  CHECK(demo::calls_in_month(fire_police, go_live, go_live) == 340);
  CHECK(demo::calls_in_month(fire_police, go_live.plus(1), go_live) == 280);
  CHECK(demo::calls_in_month(fire_police, go_live.plus(2), go_live) == 230);
  CHECK(demo::calls_in_month(fire_police, go_live.plus(3), go_live) == 188);  // 53 % fewer
  CHECK(demo::calls_in_month(fire_police, go_live.plus(9), go_live) == 188);
}

TEST_CASE("the history is the same every time, has both directions, and nothing in the future",
          "[unit][demo]") {
  const year_month go_live{2026, 8};
  const auto now = at("2026-12-05T13:00:00Z");
  const auto csv = demo::history_csv(demo::essex_directions(), go_live, now);
  CHECK(csv == demo::history_csv(demo::essex_directions(), go_live, now));
  std::istringstream in(csv);
  std::string line;
  std::getline(in, line);
  CHECK(line == "\"Call ID\",\"Calling Number\",\"Dialled Number\",\"Start Time\",\"Duration\"\r");
  std::map<std::string, int> per_tag_month;
  int emergency = 0, rows = 0;
  std::string first_start, last_start;
  while (std::getline(in, line)) {
    ++rows;
    auto tag_month = line.substr(5, 9);  // "FP-202608"
    ++per_tag_month[tag_month];
    if (line.find("96090") != std::string::npos) ++emergency;
    auto start = line.substr(line.find(",20") + 1, 19);
    if (first_start.empty()) first_start = start;
    if (start > last_start) last_start = start;
  }
  CHECK(per_tag_month["FP-202508"] ==
        demo::calls_in_month(demo::essex_directions()[0], {2025, 8}, go_live));
  CHECK(per_tag_month["FP-202611"] == 188);
  CHECK(per_tag_month["PF-202611"] == 71);       // 47 % of 150, rounded
  CHECK(per_tag_month.count("FP-202507") == 0);  // twelve months before go-live, no more
  // December is in progress: its share up to the 5th only.
  CHECK(per_tag_month["FP-202612"] > 0);
  CHECK(per_tag_month["FP-202612"] < 188 / 4);
  CHECK(last_start < "2026-12-05T14:00:00");
  CHECK(emergency * 3 >= rows - 2);  // every third call rings the emergency line
  CHECK(emergency * 3 <= rows + 80);
}
