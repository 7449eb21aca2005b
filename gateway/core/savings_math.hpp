#pragma once
// The savings report's arithmetic (issue 5), as pure functions over typed rows: which months a
// report must read, and from the counts the store read for them, the baseline, calls avoided,
// pounds saved under both methods, the totals and the before/after comparison. No SQL, no I/O,
// no threads: the store reads the rows (gateway/store/report_store.hpp), the service
// (gateway/service/savings) asks for them and renders the result.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/core/config.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {

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

// ---- what the report reads -----------------------------------------------------------------

/// The category a call without a reason is counted under (imported calls carry none).
inline constexpr std::string_view unclassified_category = "unclassified";

/// Which rows a report needs: its calls over runs of consecutive UK months (the report's own, the
/// baseline window and the comparison windows), its transfers over the report's months, and
/// which call sources count ("console", "api", "import").
struct savings_reads {
  std::vector<std::pair<year_month, year_month>> call_months;  // runs, first..last inclusive
  /// The transfers' months, first..last inclusive; none when transfers_to is before
  /// transfers_from (a part of a split read that holds only calls' months).
  year_month transfers_from, transfers_to;
  std::vector<std::string> count_sources;

  bool reads_transfers() const { return transfers_from.index() <= transfers_to.index(); }
};

/// Counted calls (not exercises, of a counted source) in one UK month, one direction, one
/// category (the reason; unclassified_category when it has none) and emergency or not.
struct call_count {
  year_month month;
  std::string from_agency, to_agency, category;
  bool emergency = false;
  std::int64_t count = 0;
};

/// Live transfers created in one UK month, by direction (requester -> responder), category,
/// emergency priority, and whether they ended accepted, declined or closed ("completed").
struct transfer_count {
  year_month month;
  std::string from_agency, to_agency, category;
  bool emergency = false;
  bool completed = false;
  std::int64_t count = 0;
};

/// The rows left out of a month's figures, and why.
struct month_exclusions {
  year_month month;
  std::int64_t exercise_calls = 0;
  std::int64_t uncounted_source_calls = 0;  // calls of a source not in count_sources
  std::int64_t non_live_transfers = 0;      // exercise and test transfers
};

/// Everything a report reads, as the store returns it (rows in any order; at most one row per
/// key; all from one snapshot of the store).
struct savings_counts {
  std::vector<call_count> calls;          // over savings_reads::call_months
  std::vector<transfer_count> transfers;  // live transfers over transfers_from..transfers_to
  /// The live transfers above that fell back to the phone: a non-exercise call is linked to them.
  std::vector<transfer_count> fell_back;
  std::vector<month_exclusions> excluded;  // months with nothing excluded may be left out
};

/// The reads a report over UK months from..to needs. Throws std::invalid_argument when from > to
/// or savings.go_live is not a real date.
savings_reads savings_reads_for(const gateway_config& cfg, year_month from, year_month to);

/// `what` cut into at most `parts` reads over disjoint runs of months, in month order, each with
/// about as many month-tables to read as the others (a month counts once for its calls and once
/// for its transfers), so that as many connections can read them side by side. Every month of
/// `what` is in exactly one part, so the parts' counts never share a key (merge_savings_counts).
/// One part when `what` spans a single month.
std::vector<savings_reads> split_savings_reads(const savings_reads& what, int parts);

/// Adds the counts of other months (a part of split_savings_reads) to `into`.
void merge_savings_counts(savings_counts& into, savings_counts&& more);

/// The report over UK months from..to from the counts read for savings_reads_for(cfg, from, to),
/// generated at `now` (which decides whether the comparison's months are over). Throws as
/// savings_reads_for does.
savings_report savings_from_counts(const gateway_config& cfg, year_month from, year_month to,
                                   const savings_counts& counts, time_point now);

}  // namespace bl
