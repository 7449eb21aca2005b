#pragma once
// The management savings report (issue 5): calls between control rooms per UK month and per
// direction, set against a baseline (volume method) and against transfers completed without a
// phone call (substitution method), with a before/after comparison either side of go-live. The
// rules are written out in the report's method texts and in docs/operations.md section 15.
//
// Threading and lifetime: compute_savings is a plain function. It only reads, through the report
// store it is given (each month's figures from one snapshot: report_store.hpp), so it may run on
// any thread beside a live gateway and never touches the engine thread. The arithmetic is
// gateway/core/savings_math; the renderers here are pure functions of the report.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/config.hpp"
#include "gateway/core/savings_math.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/store/report_store.hpp"

namespace bl {

/// The report over UK months from..to inclusive, its rows read through `reports` in one read.
/// Throws std::invalid_argument when from > to or the savings settings cannot be used (a go-live
/// that is not a real date), store::store_error when the store cannot be read.
savings_report compute_savings(const gateway_config& cfg, store::report_store& reports,
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
