// The savings report over rows inserted into a real store on each engine (an SQLite file, a
// PostgreSQL database): the worked example from issue 5
// (published pilot figures, checked against a hand calculation to the penny), and each rule of
// the method texts: exclusions, fell-back transfers, counted sources, per-agency costs, an
// entered baseline, UK months and financial years.

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/service/savings.hpp"
#include "gateway/store/open_store.hpp"
#include "gateway/store/writer.hpp"
#include "tests/support/store_engine.hpp"

using namespace bl;
using nlohmann::json;

namespace {

const std::string fire = "essex-fire";
const std::string police = "essex-police";
const std::string ambulance = "eeast-ambulance";

/// The report over the store, read as the gateway reads it.
savings_report compute_savings(const gateway_config& cfg, const test::store_engine& db,
                               year_month from, year_month to) {
  auto reports = store::open_report_store(db.options());
  return bl::compute_savings(cfg, *reports, from, to);
}

year_month ym(const char* s) {
  return *year_month::parse(s);
}

gateway_config essex_config() {
  gateway_config cfg;
  const std::map<std::string, std::string> names = {{fire, "Essex County Fire and Rescue"},
                                                    {police, "Essex Police"},
                                                    {ambulance, "East of England Ambulance"}};
  for (const auto& [id, pence] : {std::pair{fire, 400}, {police, 400}, {ambulance, 350}}) {
    agency_config a;
    a.id = id;
    a.name = names.at(id);
    a.cost_per_call_pence = pence;
    cfg.agencies.push_back(a);
  }
  cfg.savings.go_live = "2026-04-01";
  return cfg;
}

// A migrated store that the test fills with calls and transfers directly, on the engine given
// (by default each engine in turn: GENERATE runs the test case once for each).
class report_db {
 public:
  report_db() : report_db(GENERATE(from_range(test::store_engine::all()))) {}
  explicit report_db(const std::string& engine) : db_(engine) { db_.create(); }
  const test::store_engine& store() const { return db_; }

  void call(const std::string& from, const std::string& to, time_point at, bool emergency,
            const std::string& reason = "other", const std::string& source = "console",
            bool exercise = false, const std::string& transfer_id = {}) {
    auto or_null = [](const std::string& v) {
      return v.empty() ? test::store_engine::value() : test::store_engine::value(v);
    };
    // Flags as '1'/'0': an integer to SQLite's column affinity, a boolean to PostgreSQL.
    db_.exec(
        "INSERT INTO calls(source, from_agency, to_agency, started_at, emergency, reason,"
        " transfer_id, logged_by, exercise, created_at)"
        " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {source, from, to, std::to_string(to_ms(at)), emergency ? "1" : "0", or_null(reason),
         or_null(transfer_id), "test", exercise ? "1" : "0", std::to_string(to_ms(at))});
  }
  /// `n` calls in UK month `m`, spread over its first 28 days: one statement.
  void calls(int n, const std::string& from, const std::string& to, year_month m, bool emergency,
             const std::string& reason = "other") {
    if (n <= 0) return;
    auto start = uk_month_start(m);
    std::string sql =
        "INSERT INTO calls(source, from_agency, to_agency, started_at, emergency, reason,"
        " logged_by, exercise, created_at) VALUES";
    for (int i = 0; i < n; ++i) {
      const auto at = std::to_string(
          to_ms(start + std::chrono::minutes(10 + (i * 28 * 24 * 60) / std::max(n, 1))));
      sql += std::string(i ? "," : "") + "('console', '" + from + "', '" + to + "', " + at + ", '" +
             (emergency ? "1" : "0") + "', '" + reason + "', 'test', '0', " + at + ")";
    }
    db_.exec(sql);
  }
  void transfer(const std::string& id, const std::string& from, const std::string& to,
                time_point at, const std::string& state, const std::string& priority = "urgent",
                const std::string& mode = "live",
                const std::string& category = "police.traffic_management") {
    const std::string t = std::to_string(to_ms(at));
    db_.exec(
        "INSERT INTO transfers(id, state, version, category, priority, mode, requester,"
        " responder, request_message_id, created_at, updated_at, expires_at,"
        " delivery_due, decision_due) VALUES($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $9, $9, $9,"
        " $9)",
        {id, state, category, priority, mode, from, to, "m-" + id, t});
  }

 private:
  test::store_engine db_;
};

const direction_figures& row_of(const savings_report& r, year_month m, const std::string& from,
                                const std::string& to) {
  for (const auto& mf : r.months)
    if (mf.month == m)
      for (const auto& d : mf.directions)
        if (d.from_agency == from && d.to_agency == to) return d;
  FAIL("no row for " << m.str() << " " << from << " -> " << to);
  throw std::logic_error("unreachable");
}

const comparison_line& comparison_of(const savings_report& r, const std::string& from,
                                     const std::string& to, const std::string& split,
                                     const std::string& category = {}) {
  for (const auto& c : r.comparison)
    if (c.from_agency == from && c.to_agency == to && c.split == split && c.category == category)
      return c;
  FAIL("no comparison line " << from << " -> " << to << " " << split << " " << category);
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE(
    "the worked example: Fire to Police calls fall from 400 a month and the report's "
    "reduction and pounds saved equal the hand calculation to the penny",
    "[component][savings][postgres]") {
  report_db db;
  // Before go-live (2026-04-01): exactly 400 Fire -> Police calls in each of the 12 months.
  for (int i = 12; i >= 1; --i)
    db.calls(400, fire, police, ym("2026-04").plus(-i), false, "police.traffic_management");
  // After: the monthly calls fall as the pilot's data says.
  db.calls(340, fire, police, ym("2026-04"), false, "police.traffic_management");
  db.calls(280, fire, police, ym("2026-05"), false, "police.traffic_management");
  db.calls(230, fire, police, ym("2026-06"), false, "police.traffic_management");
  db.calls(188, fire, police, ym("2026-07"), false, "police.traffic_management");
  // Police -> Fire, four months either side: emergency 62 -> 51 a month, non-emergency 30 -> 30.
  for (int i = -4; i <= 3; ++i) {
    db.calls(i < 0 ? 62 : 51, police, fire, ym("2026-04").plus(i), true, "fire.forced_entry");
    db.calls(30, police, fire, ym("2026-04").plus(i), false, "info.address_risk");
  }

  auto cfg = essex_config();
  auto r = compute_savings(cfg, db.store(), ym("2026-04"), ym("2026-07"));

  // Hand calculation, Fire -> Police, baseline = 12 x 400 / 12 = 400 calls a month, £4.00 a call:
  //   month    calls  avoided = 400 - calls  reduction = avoided / 400  saved = avoided x £4
  //   2026-04  340     60                    15.0%                       £240.00
  //   2026-05  280    120                    30.0%                       £480.00
  //   2026-06  230    170                    42.5%                       £680.00
  //   2026-07  188    212                    53.0%                       £848.00
  //   total   1038    562 (of 1600: 35.1%)                               £2,248.00
  REQUIRE(r.baseline_months_with_data == 12);
  const int calls[] = {340, 280, 230, 188};
  const std::int64_t avoided[] = {60, 120, 170, 212};
  const double reduction[] = {15.0, 30.0, 42.5, 53.0};
  const std::int64_t pence[] = {24000, 48000, 68000, 84800};
  for (int i = 0; i < 4; ++i) {
    INFO("month " << ym("2026-04").plus(i).str());
    const auto& d = row_of(r, ym("2026-04").plus(i), fire, police);
    CHECK(d.calls.total == calls[i]);
    CHECK(d.baseline_centi == 40000);
    CHECK(d.volume_avoided_centi == avoided[i] * 100);
    CHECK(d.volume_saved_pence == pence[i]);
    CHECK(to_json(r)["months"][i]["directions"][0]["volume"]["reduction_pct"] == reduction[i]);
  }
  const auto& total = r.overall.directions.front();
  REQUIRE(total.from_agency == fire);
  CHECK(total.volume_saved_pence == 224800);
  CHECK(pounds(*total.volume_saved_pence) == "2248.00");
  CHECK(total.volume_avoided_centi == 56200);
  // Cumulative £ saved (all directions) includes Police -> Fire, whose baseline is the 4 months
  // of its calls spread over the 12 baseline months: 4 x 92 / 12 = 30.67 a month, with 81 calls a
  // month after: avoided 30.67 - 81 = -50.33, x £4 = -£201.32 a month.
  const auto& pf = row_of(r, ym("2026-04"), police, fire);
  CHECK(pf.baseline_centi == 3067);
  CHECK(pf.volume_saved_pence == -20132);
  CHECK(r.months[3].cumulative_volume_pence == 224800 - 4 * 20132);

  // Police -> Fire, four months either side: emergency 4 x 62 = 248 before, 4 x 51 = 204 after:
  // (204 - 248) / 248 = -17.74% -> -17.7; non-emergency 120 and 120 -> 0.0.
  const auto& emergency = comparison_of(r, police, fire, "emergency");
  CHECK(emergency.before == 248);
  CHECK(emergency.after == 204);
  CHECK(emergency.change_pct == -17.7);
  const auto& non_emergency = comparison_of(r, police, fire, "non_emergency");
  CHECK(non_emergency.before == 120);
  CHECK(non_emergency.after == 120);
  CHECK(non_emergency.change_pct == 0.0);
  CHECK(comparison_of(r, police, fire, "category", "fire.forced_entry").change_pct == -17.7);
  // Fire -> Police: 4 x 400 = 1600 before, 1038 after: -35.125% -> -35.1.
  CHECK(comparison_of(r, fire, police, "all").change_pct == -35.1);

  auto j = to_json(r);
  CHECK(j["comparison"]["before_months"] == json({"2025-12", "2026-01", "2026-02", "2026-03"}));
  CHECK(j["comparison"]["after_months"] == json({"2026-04", "2026-05", "2026-06", "2026-07"}));
  CHECK(j["settings"]["baseline"]["months"].size() == 12);
  CHECK(j["methods"]["volume"]["text"].get<std::string>().find(
            "Calls avoided = baseline calls per month − calls logged that month") !=
        std::string::npos);
  CHECK(j["methods"]["substitution"]["text"].get<std::string>().find("no phone call linked") !=
        std::string::npos);

  SECTION("the comparison does not depend on the report's months") {
    auto later = compute_savings(cfg, db.store(), ym("2027-01"), ym("2027-02"));
    CHECK(comparison_of(later, police, fire, "emergency").change_pct == -17.7);
    // No calls in those months: every call is avoided, 400 x £4 = £1,600.00 a month.
    CHECK(row_of(later, ym("2027-01"), fire, police).volume_saved_pence == 160000);
  }
  SECTION("the CSV starts with its header and carries the same figures") {
    auto csv = to_csv(r);
    CHECK(csv.rfind("row,period,financial_year,from,to,calls,", 0) == 0);
    CHECK(csv.find("month,2026-07,2026/27,essex-fire,essex-police,188,0,188,400,0,0,0,0,212,53.0,"
                   "848.00,0,0.00") != std::string::npos);
    CHECK(csv.find("essex-police,essex-fire,emergency,,248,204,-17.7") != std::string::npos);
  }
  SECTION("the printable page shows each figure with its method text, and runs no script") {
    auto html = to_html(r);
    CHECK(html.find("£2248.00") != std::string::npos);
    CHECK(html.find("Calls avoided = baseline calls per month") != std::string::npos);
    CHECK(html.find("<svg") != std::string::npos);
    CHECK(html.find("@media print") != std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
  }
  SECTION("the printable page names agencies and months as people read them") {
    auto html = to_html(r);
    CHECK(html.find("Essex County Fire and Rescue → Essex Police") != std::string::npos);
    CHECK(html.find("essex-fire → essex-police") == std::string::npos);
    CHECK(html.find("<h3>July 2026 (financial year 2026/27)") != std::string::npos);
    CHECK(html.find(">Jul 2026<") != std::string::npos);  // a chart's month label
    CHECK(html.find("<h3>2026-07") == std::string::npos);
  }
}

TEST_CASE(
    "exercise calls, test transfers and calls from uncounted sources are left out and "
    "counted",
    "[component][savings][postgres]") {
  report_db db;
  auto t = uk_month_start(ym("2026-05")) + std::chrono::hours(36);
  db.call(fire, police, t, true, "other");
  db.call(fire, police, t, true, "other", "console", true);  // exercise
  db.call(fire, police, t, true, "other", "api", true);      // exercise
  db.call(fire, police, t, false, {}, "import");             // an imported call
  db.transfer("T1", fire, police, t, "accepted");
  db.transfer("T2", fire, police, t, "accepted", "urgent", "exercise");
  db.transfer("T3", fire, police, t, "closed", "routine", "test");

  auto cfg = essex_config();
  cfg.savings.count_sources = {"console", "api"};
  auto r = compute_savings(cfg, db.store(), ym("2026-05"), ym("2026-05"));
  const auto& d = row_of(r, ym("2026-05"), fire, police);
  CHECK(d.calls.total == 1);  // the import and both exercise calls are left out
  CHECK(d.transfers.total == 1);
  CHECK(d.substitution_avoided == 1);
  CHECK(r.excluded_exercise_calls == 2);
  CHECK(r.excluded_uncounted_source_calls == 1);
  CHECK(r.excluded_non_live_transfers == 2);
  auto j = to_json(r);
  CHECK(j["excluded"] == json{{"exercise_calls", 2},
                              {"non_live_transfers", 2},
                              {"calls_from_uncounted_sources", 1}});

  SECTION("counting imports only, the console call is the one left out") {
    cfg.savings.count_sources = {"import"};
    auto ri = compute_savings(cfg, db.store(), ym("2026-05"), ym("2026-05"));
    const auto& di = row_of(ri, ym("2026-05"), fire, police);
    CHECK(di.calls.total == 1);
    CHECK(di.calls.by_category.at("unclassified") == 1);  // telephony records carry no reason
    CHECK(ri.excluded_uncounted_source_calls == 1);
  }
}

TEST_CASE(
    "a transfer with a call linked to it fell back to the phone and saves nothing; the "
    "receiving room's own cost prices the others",
    "[component][savings][postgres]") {
  report_db db;
  auto t = uk_month_start(ym("2026-06")) + std::chrono::hours(50);
  // Fire -> Ambulance (£3.50 a call): three decided without a call, one that needed a call, one
  // still waiting and one that expired.
  db.transfer("A1", fire, ambulance, t, "accepted", "emergency", "live", "ambulance.casualty_care");
  db.transfer("A2", fire, ambulance, t, "declined", "urgent", "live", "ambulance.casualty_care");
  db.transfer("A3", fire, ambulance, t, "closed", "routine", "live", "ambulance.casualty_care");
  db.transfer("A4", fire, ambulance, t, "accepted", "emergency", "live", "ambulance.casualty_care");
  db.call(fire, ambulance, t + std::chrono::minutes(3), true, "ambulance.casualty_care", "console",
          false, "A4");
  db.transfer("A5", fire, ambulance, t, "delivered");
  db.transfer("A6", fire, ambulance, t, "expired");
  // Police -> Fire (£4.00): one decided without a call.
  db.transfer("P1", police, fire, t, "accepted", "urgent", "live", "fire.forced_entry");

  auto r = compute_savings(essex_config(), db.store(), ym("2026-06"), ym("2026-06"));
  const auto& fa = row_of(r, ym("2026-06"), fire, ambulance);
  CHECK(fa.transfers.total == 6);
  CHECK(fa.transfers.emergency == 2);
  CHECK(fa.transfers.non_emergency == 4);
  CHECK(fa.fell_back == 1);
  CHECK(fa.completed_electronically == 3);
  CHECK(fa.substitution_avoided == 3);
  CHECK(fa.substitution_saved_pence == 3 * 350);
  CHECK(fa.calls.total == 1);  // the fallback call is counted as a call
  const auto& pf = row_of(r, ym("2026-06"), police, fire);
  CHECK(pf.substitution_saved_pence == 400);
  CHECK(r.overall.total.substitution_saved_pence == 1450);
  CHECK(to_json(r)["totals"]["overall"]["total"]["substitution"]["saved"] == "14.50");
}

TEST_CASE(
    "an entered baseline with fractions is rounded per month-row half away from zero, and "
    "totals are the sums of the rows",
    "[component][savings][postgres]") {
  report_db db;
  db.calls(7, fire, ambulance, ym("2026-04"), false);
  db.calls(14, fire, ambulance, ym("2026-05"), false);
  auto cfg = essex_config();
  cfg.savings.baseline_method = "entered";
  cfg.savings.baseline = {{fire, ambulance, "", std::nullopt, 10.25}};
  auto r = compute_savings(cfg, db.store(), ym("2026-03"), ym("2026-05"));
  // Before go-live there is no volume figure.
  CHECK_FALSE(row_of(r, ym("2026-03"), fire, ambulance).volume_saved_pence);
  // (10.25 - 7) x £3.50 = £11.375 -> £11.38; (10.25 - 14) x £3.50 = -£13.125 -> -£13.13.
  CHECK(row_of(r, ym("2026-04"), fire, ambulance).volume_saved_pence == 1138);
  CHECK(row_of(r, ym("2026-05"), fire, ambulance).volume_saved_pence == -1313);
  CHECK(r.overall.total.volume_saved_pence == 1138 - 1313);
  auto j = to_json(r);
  CHECK(j["months"][1]["directions"][0]["baseline"]["calls_per_month"] == 10.25);
  CHECK(j["months"][1]["directions"][0]["volume"]["calls_avoided"] == 3.25);
  CHECK(j["settings"]["baseline"]["method"] == "entered");
}

TEST_CASE("months are UK months and totals are kept per financial year",
          "[component][savings][postgres]") {
  report_db db;
  // 23:30 UTC on 31 March 2026 is 00:30 BST on 1 April; on 31 January it is still January (GMT).
  db.call(fire, police, *parse_rfc3339("2026-03-31T23:30:00Z"), false);
  db.call(fire, police, *parse_rfc3339("2026-03-31T22:59:59Z"), false);
  db.call(fire, police, *parse_rfc3339("2026-01-31T23:30:00Z"), false);
  db.call(fire, police, *parse_rfc3339("2026-10-31T23:30:00Z"), false);  // GMT again: October
  auto cfg = essex_config();
  cfg.savings.go_live.clear();
  auto r = compute_savings(cfg, db.store(), ym("2026-01"), ym("2026-11"));
  CHECK(row_of(r, ym("2026-01"), fire, police).calls.total == 1);
  CHECK(row_of(r, ym("2026-02"), fire, police).calls.total == 0);
  CHECK(row_of(r, ym("2026-03"), fire, police).calls.total == 1);
  CHECK(row_of(r, ym("2026-04"), fire, police).calls.total == 1);
  CHECK(row_of(r, ym("2026-10"), fire, police).calls.total == 1);
  REQUIRE(r.financial_years.size() == 2);
  CHECK(r.financial_years[0].label == "2025/26");
  CHECK(r.financial_years[0].total.calls.total == 2);
  CHECK(r.financial_years[0].last == ym("2026-03"));
  CHECK(r.financial_years[1].label == "2026/27");
  CHECK(r.financial_years[1].total.calls.total == 2);
  CHECK(r.overall.total.calls.total == 4);

  // Without a go-live date there is no baseline: the volume figures are empty, with a note.
  CHECK_FALSE(r.overall.total.volume_saved_pence);
  auto j = to_json(r);
  CHECK(j["months"][0]["directions"][0]["volume"]["saved_pence"].is_null());
  CHECK(j["months"][0]["directions"][0]["baseline"]["calls_per_month"].is_null());
  REQUIRE_FALSE(r.notes.empty());
  CHECK(r.notes.front().find("No go-live date") != std::string::npos);
}

TEST_CASE(
    "with go-live after the 1st the go-live month is left out of both sides of the "
    "comparison",
    "[component][savings][postgres]") {
  report_db db;
  for (int i = -2; i <= 2; ++i) db.calls(10 + i, police, fire, ym("2026-04").plus(i), true);
  auto cfg = essex_config();
  cfg.savings.go_live = "2026-04-15";
  cfg.savings.comparison_months = 1;
  auto r = compute_savings(cfg, db.store(), ym("2026-04"), ym("2026-04"));
  REQUIRE(r.before_window.size() == 1);
  CHECK(r.before_window[0] == ym("2026-03"));
  CHECK(r.after_window[0] == ym("2026-05"));
  const auto& c = comparison_of(r, police, fire, "all");
  CHECK(c.before == 9);
  CHECK(c.after == 11);
  CHECK(comparison_method_text(r).find("not on the 1st") != std::string::npos);

  SECTION("a bad go-live date or a reversed period is refused with the value") {
    cfg.savings.go_live = "2026-02-30";
    CHECK_THROWS_WITH(compute_savings(cfg, db.store(), ym("2026-04"), ym("2026-04")),
                      Catch::Contains("'2026-02-30'"));
    cfg.savings.go_live = "2026-04-01";
    CHECK_THROWS_WITH(compute_savings(cfg, db.store(), ym("2026-05"), ym("2026-04")),
                      Catch::Contains("2026-05 is after its last month 2026-04"));
  }
}

namespace {

/// Every kind of row a report reads or leaves out, over a year with both clock changes.
void fill_mixed(report_db& db) {
  const auto y = ym("2026-01");
  for (int i = 0; i < 12; ++i) {
    db.calls(20 + 3 * i, fire, police, y.plus(i), i % 2 == 0, "police.traffic_management");
    db.calls(5 + i, police, fire, y.plus(i), true, "fire.forced_entry");
    db.calls(i % 4, ambulance, fire, y.plus(i), false, "info.address_risk");
  }
  // Month edges in UK time, imported calls without a reason, exercises and the API.
  db.call(fire, police, *parse_rfc3339("2026-03-31T23:30:00Z"), false);
  db.call(fire, police, *parse_rfc3339("2026-03-31T22:59:59Z"), true);
  db.call(fire, police, *parse_rfc3339("2026-10-31T23:30:00Z"), false);
  const auto t = uk_month_start(ym("2026-06")) + std::chrono::hours(30);
  db.call(fire, ambulance, t, false, {}, "import");
  db.call(fire, ambulance, t, false, {}, "import");
  db.call(fire, ambulance, t, true, "other", "api");
  db.call(fire, ambulance, t, true, "other", "console", true);
  // Transfers in every state and mode, some with calls linked to them (one an exercise call).
  const char* states[] = {"accepted", "declined", "closed", "delivered", "expired", "received"};
  const char* priorities[] = {"emergency", "urgent", "routine"};
  for (int i = 0; i < 36; ++i) {
    const std::string id = "T" + std::to_string(i);
    const auto at = uk_month_start(y.plus(i % 12)) + std::chrono::hours(1 + i);
    db.transfer(id, i % 3 ? fire : police, i % 3 ? police : fire, at, states[i % 6],
                priorities[i % 3], i % 7 == 0 ? "exercise" : "live",
                i % 2 ? "police.traffic_management" : "fire.forced_entry");
    if (i % 5 == 0) db.call(fire, police, at, false, "follow_up", "console", false, id);
    if (i % 11 == 0) db.call(fire, police, at, false, "follow_up", "console", true, id);
  }
}

/// A report's JSON without the time it was generated at.
json figures(const savings_report& r) {
  auto j = to_json(r);
  j.erase("generated_at");
  return j;
}

}  // namespace

TEST_CASE("the report's counts and figures are the same on SQLite and on PostgreSQL",
          "[component][savings][postgres]") {
  report_db lite("sqlite");
  report_db pg("postgres");
  fill_mixed(lite);
  fill_mixed(pg);
  auto cfg = essex_config();
  cfg.savings.count_sources = {"console", "api"};
  const auto now = *parse_rfc3339("2027-02-01T12:00:00Z");

  // The rows each store returns, in a canonical order (the interface allows any).
  auto counts = [&](const report_db& db) {
    auto what = savings_reads_for(cfg, ym("2026-01"), ym("2026-12"));
    auto c = store::open_report_store(db.store().options())->read_savings_counts(what);
    json out = json::object();
    std::vector<std::string> calls, transfers, fell_back, excluded;
    for (const auto& x : c.calls)
      calls.push_back(x.month.str() + " " + x.from_agency + " " + x.to_agency + " " + x.category +
                      " " + std::to_string(x.emergency) + " " + std::to_string(x.count));
    for (auto* list : {&c.transfers, &c.fell_back})
      for (const auto& x : *list)
        (list == &c.transfers ? transfers : fell_back)
            .push_back(x.month.str() + " " + x.from_agency + " " + x.to_agency + " " + x.category +
                       " " + std::to_string(x.emergency) + " " + std::to_string(x.completed) + " " +
                       std::to_string(x.count));
    for (const auto& x : c.excluded)
      excluded.push_back(x.month.str() + " " + std::to_string(x.exercise_calls) + " " +
                         std::to_string(x.uncounted_source_calls) + " " +
                         std::to_string(x.non_live_transfers));
    for (auto* v : {&calls, &transfers, &fell_back, &excluded}) std::sort(v->begin(), v->end());
    return json{{"calls", calls},
                {"transfers", transfers},
                {"fell_back", fell_back},
                {"excluded", excluded}};
  };
  const auto on_sqlite = counts(lite);
  CHECK(on_sqlite["calls"].size() > 30);
  CHECK(on_sqlite["fell_back"].size() > 3);
  CHECK(on_sqlite["excluded"].size() > 3);
  CHECK(counts(pg) == on_sqlite);

  auto report = [&](const report_db& db) {
    auto what = savings_reads_for(cfg, ym("2026-02"), ym("2026-11"));
    auto c = store::open_report_store(db.store().options())->read_savings_counts(what);
    return figures(savings_from_counts(cfg, ym("2026-02"), ym("2026-11"), c, now));
  };
  const auto lite_report = report(lite);
  CHECK(lite_report["totals"]["overall"]["total"]["calls"]["total"].get<std::int64_t>() > 300);
  CHECK(report(pg) == lite_report);
}
