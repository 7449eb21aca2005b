// The savings report's arithmetic (gateway/core/savings_math) over typed rows, without a store:
// which months a report reads, the baseline, both methods' savings and the before/after
// comparison, checked against a hand calculation.

#include <catch2/catch.hpp>

#include <map>
#include <stdexcept>
#include <utility>

#include "gateway/core/savings_math.hpp"

using namespace bl;

namespace {

const std::string fire = "essex-fire";
const std::string police = "essex-police";

year_month ym(const char* s) {
  return *year_month::parse(s);
}

gateway_config config() {
  gateway_config cfg;
  agency_config a;
  a.id = fire;
  a.cost_per_call_pence = 400;
  cfg.agencies.push_back(a);
  a.id = police;
  a.cost_per_call_pence = 500;
  cfg.agencies.push_back(a);
  cfg.savings.go_live = "2026-04-01";
  cfg.savings.baseline_months = 2;
  cfg.savings.comparison_months = 1;
  return cfg;
}

// Fire to police: 10 emergency calls in February, 6 non-emergency in March (the baseline, 8 a
// month), 3 in April after go-live; 7 live transfers in April, 5 of them completed, one of which
// also fell back to the phone.
savings_counts counts() {
  savings_counts c;
  c.calls = {{ym("2026-02"), fire, police, "unclassified", true, 10},
             {ym("2026-03"), fire, police, "unclassified", false, 6},
             {ym("2026-04"), fire, police, "fire.rescue", true, 3}};
  c.transfers = {{ym("2026-04"), fire, police, "fire.rescue", true, true, 5},
                 {ym("2026-04"), fire, police, "fire.rescue", true, false, 2}};
  c.fell_back = {{ym("2026-04"), fire, police, "fire.rescue", true, true, 1}};
  month_exclusions april;
  april.month = ym("2026-04");
  april.exercise_calls = 2;
  month_exclusions february;
  february.month = ym("2026-02");
  february.exercise_calls = 7;
  c.excluded = {april, february};
  return c;
}

time_point june() {
  return uk_month_start(ym("2026-06"));
}

}  // namespace

TEST_CASE("a report reads its own months, the baseline window and the comparison windows",
          "[savings]") {
  auto reads = savings_reads_for(config(), ym("2026-04"), ym("2026-04"));
  REQUIRE(reads.call_months.size() == 1);
  CHECK(reads.call_months[0].first == ym("2026-02"));
  CHECK(reads.call_months[0].second == ym("2026-04"));
  CHECK(reads.transfers_from == ym("2026-04"));
  CHECK(reads.transfers_to == ym("2026-04"));

  SECTION("months apart are read as separate runs") {
    auto later = savings_reads_for(config(), ym("2026-09"), ym("2026-10"));
    REQUIRE(later.call_months.size() == 2);
    CHECK(later.call_months[0].first == ym("2026-02"));
    CHECK(later.call_months[0].second == ym("2026-04"));
    CHECK(later.call_months[1].first == ym("2026-09"));
  }
}

TEST_CASE("calls avoided and pounds saved follow the hand calculation", "[savings]") {
  auto r = savings_from_counts(config(), ym("2026-04"), ym("2026-04"), counts(), june());
  CHECK(r.baseline_months_with_data == 2);
  CHECK(r.baseline_by_direction.at({fire, police}) == 800);  // 16 calls over 2 months
  REQUIRE(r.months.size() == 1);
  REQUIRE(r.months[0].directions.size() == 1);
  const auto& d = r.months[0].directions[0];
  CHECK(d.calls.total == 3);
  CHECK(d.calls.by_category.at("fire.rescue") == 3);
  CHECK(*d.volume_avoided_centi == 500);  // 8 - 3 calls
  CHECK(*d.volume_saved_pence == 2500);   // 5 calls at police's £5.00
  CHECK(d.transfers.total == 7);
  CHECK(d.fell_back == 1);
  CHECK(d.completed_electronically == 4);  // 5 completed, less the one that fell back
  CHECK(d.substitution_saved_pence == 2000);
  CHECK(r.overall.total.volume_saved_pence == 2500);
  CHECK(r.months[0].cumulative_substitution_pence == 2000);
  CHECK(r.excluded_exercise_calls == 2);  // February's are outside the report
  CHECK(r.notes.empty());
}

TEST_CASE("the before/after comparison lists every split with its change", "[savings]") {
  auto r = savings_from_counts(config(), ym("2026-04"), ym("2026-04"), counts(), june());
  REQUIRE(r.comparison.size() == 5);
  CHECK(r.comparison[0].split == "all");
  CHECK(r.comparison[0].before == 6);
  CHECK(r.comparison[0].after == 3);
  CHECK(*r.comparison[0].change_pct == Approx(-50.0));
  CHECK(r.comparison[1].split == "emergency");
  CHECK_FALSE(r.comparison[1].change_pct);  // nothing before
  CHECK(r.comparison[2].split == "non_emergency");
  CHECK(*r.comparison[2].change_pct == Approx(-100.0));
  CHECK(r.comparison[3].category == "fire.rescue");
  CHECK(r.comparison[4].category == "unclassified");
}

TEST_CASE("a report whose comparison is still running says so", "[savings]") {
  auto r = savings_from_counts(config(), ym("2026-04"), ym("2026-04"), counts(),
                               uk_month_start(ym("2026-04")));
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("not over yet") != std::string::npos);
}

TEST_CASE("unusable report settings are refused before anything is read", "[savings]") {
  auto cfg = config();
  CHECK_THROWS_AS(savings_reads_for(cfg, ym("2026-05"), ym("2026-04")), std::invalid_argument);
  cfg.savings.go_live = "2026-02-30";
  CHECK_THROWS_WITH(savings_reads_for(cfg, ym("2026-04"), ym("2026-04")),
                    Catch::Contains("is not a real date"));
}

TEST_CASE("a report's reads split into disjoint runs of months of about equal work", "[savings]") {
  // Calls over 2021-04..2021-09 and 2022-01..2022-06, transfers over 2022-01..2022-06: twelve
  // months of calls and six of transfers, eighteen month-tables in all.
  savings_reads what;
  what.call_months = {{ym("2021-04"), ym("2021-09")}, {ym("2022-01"), ym("2022-06")}};
  what.transfers_from = ym("2022-01");
  what.transfers_to = ym("2022-06");
  what.count_sources = {"console", "import"};

  auto parts = split_savings_reads(what, 2);
  REQUIRE(parts.size() == 2);
  // The first part: 2021-04..2021-09 (6) and 2022-01..2022-02 (2 calls + 2 transfers), ten.
  REQUIRE(parts[0].call_months.size() == 2);
  CHECK(parts[0].call_months[0] == std::make_pair(ym("2021-04"), ym("2021-09")));
  CHECK(parts[0].call_months[1] == std::make_pair(ym("2022-01"), ym("2022-02")));
  CHECK(parts[0].reads_transfers());
  CHECK(parts[0].transfers_from == ym("2022-01"));
  CHECK(parts[0].transfers_to == ym("2022-02"));
  REQUIRE(parts[1].call_months.size() == 1);
  CHECK(parts[1].call_months[0] == std::make_pair(ym("2022-03"), ym("2022-06")));
  CHECK(parts[1].transfers_from == ym("2022-03"));
  CHECK(parts[1].transfers_to == ym("2022-06"));
  for (const auto& p : parts) CHECK(p.count_sources == what.count_sources);

  SECTION("every month is in exactly one part, whatever the number of parts") {
    for (int n = 1; n <= 20; ++n) {
      auto ps = split_savings_reads(what, n);
      CHECK(static_cast<int>(ps.size()) <= n);
      std::map<int, int> calls, transfers;
      for (const auto& p : ps) {
        for (const auto& [a, b] : p.call_months)
          for (int m = a.index(); m <= b.index(); ++m) ++calls[m];
        if (p.reads_transfers())
          for (int m = p.transfers_from.index(); m <= p.transfers_to.index(); ++m) ++transfers[m];
      }
      CHECK(calls.size() == 12);
      CHECK(transfers.size() == 6);
      for (const auto& [m, k] : calls) CHECK(k == 1);
      for (const auto& [m, k] : transfers) CHECK(k == 1);
    }
  }
  SECTION("a part may hold only calls") {
    auto ps = split_savings_reads(what, 3);
    REQUIRE(ps.size() == 3);
    CHECK_FALSE(ps[0].reads_transfers());  // 2021-04..2021-09: calls only
    CHECK(ps[0].call_months.size() == 1);
  }
  SECTION("a single month is one part") {
    savings_reads one;
    one.call_months = {{ym("2026-04"), ym("2026-04")}};
    one.transfers_from = one.transfers_to = ym("2026-04");
    CHECK(split_savings_reads(one, 2).size() == 1);
  }
  SECTION("the parts' counts merge into the whole") {
    savings_counts a = counts(), b;
    b.calls = {{ym("2026-05"), fire, police, "fire.rescue", true, 4}};
    month_exclusions may;
    may.month = ym("2026-05");
    may.non_live_transfers = 1;
    b.excluded = {may};
    merge_savings_counts(a, std::move(b));
    CHECK(a.calls.size() == 4);
    CHECK(a.calls.back().count == 4);
    CHECK(a.transfers.size() == 2);
    CHECK(a.fell_back.size() == 1);
    CHECK(a.excluded.size() == 3);
  }
}
