#pragma once
// The management savings report (issue 5): calls between control rooms per UK month and per
// direction, set against a baseline (volume method) and against transfers completed without a
// phone call (substitution method), with a before/after comparison either side of go-live. The
// rules are written out in the report's method texts and in docs/operations.md section 15.
//
// Threading and lifetime: compute_savings is a plain function. It only reads, through the
// read-only connection it is given (or one it opens on the path and closes before returning), so
// it may run on any thread beside a live gateway (WAL) and never touches the engine thread. The
// renderers are pure functions of the report.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {

namespace store {
class db;
}

/// Calls or transfers split by emergency and by category (a call's reason, a transfer's
/// category; "unclassified" for imported calls, which carry none).
struct split_counts {
  std::int64_t total = 0;
  std::int64_t emergency = 0;
  std::int64_t non_emergency = 0;
  std::map<std::string, std::int64_t> by_category;

  void add(bool is_emergency, const std::string& category, std::int64_t n);
  void add(const split_counts& other);
};

/// One direction (from -> to) in one month, or summed over several months.
struct direction_figures {
  std::string from_agency;
  std::string to_agency;
  split_counts calls;
  /// Baseline calls per month in hundredths of a call (40000 = 400 calls); nullopt: none.
  std::optional<std::int64_t> baseline_centi;
  split_counts transfers;                     // live transfers requested in the month
  std::int64_t completed_electronically = 0;  // accepted, declined or closed; no call linked
  std::int64_t fell_back = 0;                 // live transfers with a call linked to them
  /// Volume method; nullopt when there is no baseline for this row (or the month is before
  /// go-live). Calls avoided in hundredths, so that a fractional baseline stays exact.
  std::optional<std::int64_t> volume_avoided_centi;
  std::optional<std::int64_t> volume_baseline_centi;  // the baseline the row's volume used
  std::optional<std::int64_t> volume_saved_pence;
  std::int64_t substitution_avoided = 0;
  std::int64_t substitution_saved_pence = 0;

  /// Adds a row of the same direction (for totals: every figure is the sum of the rows).
  void add(const direction_figures& row);
};

struct month_figures {
  year_month month;
  int financial_year = 0;                     // named by the year it starts in
  std::vector<direction_figures> directions;  // sorted by (from, to)
  direction_figures total;                    // all directions together (from/to empty)
  std::int64_t cumulative_volume_pence = 0;   // since the first month of the report
  std::int64_t cumulative_substitution_pence = 0;
};

struct totals_block {
  std::string label;  // "2026/27" for a financial year, "" overall
  year_month first, last;
  std::vector<direction_figures> directions;
  direction_figures total;
};

/// One line of the before/after comparison.
struct comparison_line {
  std::string from_agency, to_agency;
  std::string split;     // "all", "emergency", "non_emergency" or "category"
  std::string category;  // for split == "category"
  std::int64_t before = 0, after = 0;
  std::optional<double> change_pct;  // 1 decimal; nullopt when `before` is 0
};

struct baseline_line {
  std::string from_agency, to_agency;
  std::optional<bool> emergency;  // nullopt: both together
  std::string category;           // empty: every category together
  std::int64_t centi = 0;         // calls per month, hundredths
};

struct savings_report {
  year_month from, to;
  time_point generated_at{};
  // Settings echo.
  std::string go_live;  // "" when not set
  std::optional<year_month> go_live_month;
  bool go_live_first_of_month = true;
  std::string baseline_method;
  std::vector<year_month> baseline_window;  // imported: the months averaged over
  int baseline_months_with_data = 0;        // imported: the divisor
  std::vector<baseline_line> baseline;      // per direction, emergency and category
  std::map<std::pair<std::string, std::string>, std::int64_t> baseline_by_direction;  // centi
  std::vector<std::string> count_sources;
  std::map<std::string, int> cost_per_call_pence;   // per configured agency
  std::map<std::string, std::string> agency_names;  // per configured agency, for the HTML copy
  int financial_year_start_month = 4;
  int comparison_months = 4;

  std::vector<month_figures> months;
  std::vector<totals_block> financial_years;
  totals_block overall;

  // Before/after comparison (independent of from/to); empty windows when there is no go-live.
  std::vector<year_month> before_window, after_window;
  std::vector<comparison_line> comparison;

  std::int64_t excluded_exercise_calls = 0;
  std::int64_t excluded_non_live_transfers = 0;
  std::int64_t excluded_uncounted_source_calls = 0;

  std::vector<std::string> notes;  // plain-English caveats (no go-live, unknown agencies, ...)
};

/// The report over UK months from..to inclusive, read through `ro` (a read-only connection).
/// Throws std::invalid_argument when from > to or the savings settings cannot be used (a go-live
/// that is not a real date), store::store_error when the database cannot be read.
savings_report compute_savings(const gateway_config& cfg, store::db& ro, year_month from,
                               year_month to, time_point now = now_ms());
/// As above, on a read-only connection of its own to the database at `db_path`.
savings_report compute_savings(const gateway_config& cfg, const std::string& db_path,
                               year_month from, year_month to, time_point now = now_ms());

/// The method texts, as the report shows them beside the figures.
std::string volume_method_text(const savings_report& r);
std::string substitution_method_text(const savings_report& r);
std::string exclusions_text(const savings_report& r);
std::string comparison_method_text(const savings_report& r);

/// Pence as pounds with two decimals: 24000 -> "240.00", -150 -> "-1.50".
std::string pounds(std::int64_t pence);
/// Hundredths as a decimal: 40000 -> "400", 33325 -> "333.25".
std::string centi_text(std::int64_t centi);

nlohmann::json to_json(const savings_report& r);
/// Spreadsheet form: the monthly rows under one header line, then the per-category calls, the
/// totals, the comparison and the method texts, each under its own header after a blank line.
std::string to_csv(const savings_report& r);
/// A self-contained printable page: inline CSS (no script), tables and inline SVG charts.
std::string to_html(const savings_report& r);
/// The exact contents of the HTML page's single <style> element, for a CSP hash.
const std::string& savings_html_style();

}  // namespace bl
