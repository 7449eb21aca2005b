#include "gateway/service/savings.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace bl {

using nlohmann::json;

namespace {

// Integer division rounded half away from zero (den > 0).
std::int64_t round_div(std::int64_t num, std::int64_t den) {
  return num >= 0 ? (num * 2 + den) / (2 * den) : -((-num * 2 + den) / (2 * den));
}

// A percentage with one decimal, rounded half away from zero.
double pct1(std::int64_t num, std::int64_t den) {
  return static_cast<double>(round_div(num * 1000, den)) / 10.0;
}

}  // namespace

savings_report compute_savings(const gateway_config& cfg, store::report_store& reports,
                               year_month from, year_month to, time_point now) {
  // The settings are checked before anything is read.
  const savings_reads what = savings_reads_for(cfg, from, to);
  return savings_from_counts(cfg, from, to, reports.read_savings_counts(what), now);
}

// ---- method texts -------------------------------------------------------------------------

std::string pounds(std::int64_t pence) {
  std::int64_t a = pence < 0 ? -pence : pence;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", pence < 0 ? "-" : "",
                static_cast<long long>(a / 100), static_cast<long long>(a % 100));
  return buf;
}

std::string centi_text(std::int64_t centi) {
  std::int64_t a = centi < 0 ? -centi : centi;
  char buf[48];
  if (a % 100 == 0)
    std::snprintf(buf, sizeof buf, "%s%lld", centi < 0 ? "-" : "", static_cast<long long>(a / 100));
  else
    std::snprintf(buf, sizeof buf, "%s%lld.%02lld", centi < 0 ? "-" : "",
                  static_cast<long long>(a / 100), static_cast<long long>(a % 100));
  return buf;
}

namespace {
std::string costs_text(const savings_report& r) {
  std::string out;
  for (const auto& [agency, pence] : r.cost_per_call_pence) {
    if (!out.empty()) out += ", ";
    auto name = r.agency_names.find(agency);
    out += (name == r.agency_names.end() ? agency : name->second) + " £" + pounds(pence);
  }
  return out.empty() ? "£4.00 for every room" : out;
}
}  // namespace

std::string volume_method_text(const savings_report& r) {
  std::string t =
      "Calls avoided = baseline calls per month − calls logged that month, per direction (from "
      "room → to room). £ saved = calls avoided × the receiving room's cost per call (" +
      costs_text(r) +
      "). A month with more calls than the baseline shows a negative saving; it is not set to "
      "zero. ";
  if (!r.go_live_month)
    return t + "No go-live date is set, so there is no baseline and no volume figure.";
  t += "Volume figures start in the go-live month (" + r.go_live_month->str() +
       "); months before it show none. ";
  if (r.baseline_method == "entered") {
    t += "The baseline is the monthly figures entered in the settings, added up per direction. ";
  } else if (!r.baseline_window.empty()) {
    t += "The baseline is the average calls per month over the " +
         std::to_string(r.baseline_window.size()) + " whole months before the go-live month (" +
         r.baseline_window.front().str() + " to " + r.baseline_window.back().str() +
         "): the calls in those months divided by the number of them that have any call records "
         "at all (" +
         std::to_string(r.baseline_months_with_data) +
         "), since a month without a single record was not recorded rather than quiet. It is "
         "rounded to 2 decimal places and that rounded figure is the one used. ";
  }
  t += "When the baseline has a fraction, each month-row's saving is rounded half away from "
       "zero to the penny, and every total is the sum of the rounded rows shown. Reduction % = "
       "calls avoided ÷ baseline × 100, to 1 decimal place. These are non-cashable savings: "
       "staff time released, not money returned to a budget.";
  return t;
}

std::string substitution_method_text(const savings_report& r) {
  return "Each live transfer requested in the month that was accepted, declined or closed, with "
         "no phone call linked to it in the call log, replaced one phone call: calls avoided = "
         "those transfers; £ saved = calls avoided × the receiving (responding) room's cost per "
         "call (" +
         costs_text(r) +
         "). A transfer with a call linked to it fell back to the phone: it is counted under "
         "'fell back', its call is counted as a call, and it saves nothing. A transfer is counted "
         "in the month it was requested, in the state it has when the report is made. "
         "Non-cashable savings.";
}

std::string exclusions_text(const savings_report& r) {
  std::string sources;
  for (const auto& s : r.count_sources) sources += (sources.empty() ? "" : ", ") + s;
  return "Exercise calls and exercise or test transfers are left out of every figure and counted "
         "under 'excluded'. Only calls from these sources count: " +
         sources +
         "; calls from other sources are left out and counted. Months are UK calendar months "
         "(GMT, or BST in summer): a call at 23:30 UTC on 31 March is counted in April. Financial "
         "years start in month " +
         std::to_string(r.financial_year_start_month) +
         ". A call's category is its reason; imported telephony calls have none and show as "
         "'unclassified'.";
}

std::string comparison_method_text(const savings_report& r) {
  if (!r.go_live_month) return "No go-live date is set, so there is no before/after comparison.";
  std::string t = "Calls in the " + std::to_string(r.comparison_months) +
                  " whole months before the go-live month (" + r.before_window.front().str() +
                  " to " + r.before_window.back().str() + ") against the " +
                  std::to_string(r.comparison_months) + " whole months " +
                  (r.go_live_first_of_month ? "from" : "after") + " it (" +
                  r.after_window.front().str() + " to " + r.after_window.back().str() + "). ";
  if (!r.go_live_first_of_month)
    t += "Go-live (" + r.go_live +
         ") was not on the 1st, so the go-live month itself is left out of both. ";
  return t +
         "Change % = (after − before) ÷ before × 100, to 1 decimal place; none when there were "
         "no calls before. The comparison does not depend on the report's months.";
}

// ---- JSON ---------------------------------------------------------------------------------

namespace {
json centi_json(std::int64_t c) {
  if (c % 100 == 0) return c / 100;
  return static_cast<double>(c) / 100.0;
}
json opt_centi(const std::optional<std::int64_t>& c) {
  return c ? centi_json(*c) : json();
}

json split_json(const split_counts& s) {
  json cats = json::object();
  for (const auto& [k, v] : s.by_category) cats[k] = v;
  return {{"total", s.total},
          {"emergency", s.emergency},
          {"non_emergency", s.non_emergency},
          {"by_category", cats}};
}

std::optional<double> reduction_pct(const direction_figures& d) {
  if (!d.volume_avoided_centi || !d.volume_baseline_centi || *d.volume_baseline_centi <= 0)
    return std::nullopt;
  return pct1(*d.volume_avoided_centi, *d.volume_baseline_centi);
}

json figures_json(const direction_figures& d, bool with_direction, bool totals) {
  json out = json::object();
  if (with_direction) {
    out["from"] = d.from_agency;
    out["to"] = d.to_agency;
  }
  auto pct = reduction_pct(d);
  out["calls"] = split_json(d.calls);
  if (totals)
    out["baseline"] = {{"calls", opt_centi(d.volume_baseline_centi)}};
  else
    out["baseline"] = {{"calls_per_month", opt_centi(d.baseline_centi)}};
  out["transfers"] = split_json(d.transfers);
  out["transfers_completed_electronically"] = d.completed_electronically;
  out["fell_back"] = d.fell_back;
  out["volume"] = {{"calls_avoided", opt_centi(d.volume_avoided_centi)},
                   {"reduction_pct", pct ? json(*pct) : json()},
                   {"saved_pence", d.volume_saved_pence ? json(*d.volume_saved_pence) : json()},
                   {"saved", d.volume_saved_pence ? json(pounds(*d.volume_saved_pence)) : json()}};
  out["substitution"] = {{"calls_avoided", d.substitution_avoided},
                         {"saved_pence", d.substitution_saved_pence},
                         {"saved", pounds(d.substitution_saved_pence)}};
  return out;
}

json totals_json(const totals_block& b) {
  json dirs = json::array();
  for (const auto& d : b.directions) dirs.push_back(figures_json(d, true, true));
  json out = {{"first_month", b.first.str()},
              {"last_month", b.last.str()},
              {"total", figures_json(b.total, false, true)},
              {"by_direction", dirs}};
  if (!b.label.empty()) out["financial_year"] = b.label;
  return out;
}

json months_json(const std::vector<year_month>& ms) {
  json out = json::array();
  for (auto m : ms) out.push_back(m.str());
  return out;
}
}  // namespace

json to_json(const savings_report& r) {
  json costs = json::object();
  for (const auto& [a, p] : r.cost_per_call_pence) costs[a] = p;
  json baseline_lines = json::array();
  for (const auto& b : r.baseline)
    baseline_lines.push_back({{"from", b.from_agency},
                              {"to", b.to_agency},
                              {"emergency", b.emergency ? json(*b.emergency) : json()},
                              {"category", b.category.empty() ? json() : json(b.category)},
                              {"calls_per_month", centi_json(b.centi)}});
  json baseline_dirs = json::array();
  for (const auto& [k, c] : r.baseline_by_direction)
    baseline_dirs.push_back(
        {{"from", k.first}, {"to", k.second}, {"calls_per_month", centi_json(c)}});

  json settings = {{"go_live", r.go_live.empty() ? json() : json(r.go_live)},
                   {"go_live_month", r.go_live_month ? json(r.go_live_month->str()) : json()},
                   {"baseline",
                    {{"method", r.baseline_method},
                     {"months", months_json(r.baseline_window)},
                     {"months_with_data",
                      r.baseline_method == "entered" ? json() : json(r.baseline_months_with_data)},
                     {"by_direction", baseline_dirs},
                     {"lines", baseline_lines}}},
                   {"count_sources", r.count_sources},
                   {"cost_per_call_pence", costs},
                   {"financial_year_start_month", r.financial_year_start_month},
                   {"comparison_months", r.comparison_months}};

  json months = json::array();
  for (const auto& mf : r.months) {
    json dirs = json::array();
    for (const auto& d : mf.directions) dirs.push_back(figures_json(d, true, false));
    months.push_back({{"month", mf.month.str()},
                      {"financial_year", financial_year_label(mf.financial_year)},
                      {"directions", dirs},
                      {"total", figures_json(mf.total, false, false)},
                      {"cumulative_saved_pence",
                       {{"volume", mf.cumulative_volume_pence},
                        {"substitution", mf.cumulative_substitution_pence}}}});
  }
  json fys = json::array();
  for (const auto& b : r.financial_years) fys.push_back(totals_json(b));

  json comparison_lines = json::array();
  for (const auto& c : r.comparison)
    comparison_lines.push_back({{"from", c.from_agency},
                                {"to", c.to_agency},
                                {"split", c.split},
                                {"category", c.category.empty() ? json() : json(c.category)},
                                {"before_calls", c.before},
                                {"after_calls", c.after},
                                {"change_pct", c.change_pct ? json(*c.change_pct) : json()}});

  return {{"report", "savings"},
          {"period", {{"from", r.from.str()}, {"to", r.to.str()}, {"months", r.months.size()}}},
          {"generated_at", format_rfc3339(r.generated_at)},
          {"settings", settings},
          {"methods",
           {{"volume", {{"text", volume_method_text(r)}}},
            {"substitution", {{"text", substitution_method_text(r)}}},
            {"comparison", {{"text", comparison_method_text(r)}}},
            {"exclusions", {{"text", exclusions_text(r)}}}}},
          {"notes", r.notes},
          {"months", months},
          {"totals", {{"overall", totals_json(r.overall)}, {"by_financial_year", fys}}},
          {"comparison",
           {{"before_months", months_json(r.before_window)},
            {"after_months", months_json(r.after_window)},
            {"lines", comparison_lines}}},
          {"excluded",
           {{"exercise_calls", r.excluded_exercise_calls},
            {"non_live_transfers", r.excluded_non_live_transfers},
            {"calls_from_uncounted_sources", r.excluded_uncounted_source_calls}}}};
}

// ---- CSV ----------------------------------------------------------------------------------

namespace {
std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}
std::string csv_line(const std::vector<std::string>& fields) {
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? "," : "") + csv_field(fields[i]);
  return out + "\r\n";
}
std::string opt_text(const std::optional<std::int64_t>& c, std::string (*f)(std::int64_t)) {
  return c ? f(*c) : std::string();
}
std::string pct_text(std::optional<double> p) {
  if (!p) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", *p);
  return buf;
}
std::vector<std::string> figure_fields(const direction_figures& d, bool totals) {
  return {std::to_string(d.calls.total),
          std::to_string(d.calls.emergency),
          std::to_string(d.calls.non_emergency),
          opt_text(totals ? d.volume_baseline_centi : d.baseline_centi, centi_text),
          std::to_string(d.transfers.total),
          std::to_string(d.transfers.emergency),
          std::to_string(d.completed_electronically),
          std::to_string(d.fell_back),
          opt_text(d.volume_avoided_centi, centi_text),
          pct_text(reduction_pct(d)),
          opt_text(d.volume_saved_pence, pounds),
          std::to_string(d.substitution_avoided),
          pounds(d.substitution_saved_pence)};
}
}  // namespace

std::string to_csv(const savings_report& r) {
  std::string out = csv_line({"row",
                              "period",
                              "financial_year",
                              "from",
                              "to",
                              "calls",
                              "emergency_calls",
                              "non_emergency_calls",
                              "baseline_calls",
                              "transfers",
                              "emergency_transfers",
                              "transfers_completed_electronically",
                              "fell_back",
                              "volume_calls_avoided",
                              "volume_reduction_pct",
                              "volume_saved_gbp",
                              "substitution_calls_avoided",
                              "substitution_saved_gbp",
                              "cumulative_volume_saved_gbp",
                              "cumulative_substitution_saved_gbp"});
  auto line = [&](const std::string& kind, const std::string& period, const std::string& fy,
                  const direction_figures& d, bool totals, std::vector<std::string> tail) {
    std::vector<std::string> f = {kind, period, fy, d.from_agency, d.to_agency};
    for (auto& v : figure_fields(d, totals)) f.push_back(std::move(v));
    for (auto& v : tail) f.push_back(std::move(v));
    out += csv_line(f);
  };
  for (const auto& mf : r.months) {
    std::string fy = financial_year_label(mf.financial_year);
    for (const auto& d : mf.directions) line("month", mf.month.str(), fy, d, false, {"", ""});
    line("month_total", mf.month.str(), fy, mf.total, false,
         {pounds(mf.cumulative_volume_pence), pounds(mf.cumulative_substitution_pence)});
  }
  auto block = [&](const totals_block& b, const std::string& kind) {
    std::string period = b.first.str() + " to " + b.last.str();
    for (const auto& d : b.directions) line(kind, period, b.label, d, true, {"", ""});
    line(kind + "_total", period, b.label, b.total, true, {"", ""});
  };
  for (const auto& b : r.financial_years) block(b, "financial_year");
  block(r.overall, "overall");

  out += "\r\n" + csv_line({"month", "from", "to", "category", "calls"});
  for (const auto& mf : r.months)
    for (const auto& d : mf.directions)
      for (const auto& [cat, n] : d.calls.by_category)
        out += csv_line({mf.month.str(), d.from_agency, d.to_agency, cat, std::to_string(n)});

  out += "\r\n" + csv_line({"comparison_from", "comparison_to", "split", "category", "before_calls",
                            "after_calls", "change_pct", "before_months", "after_months"});
  std::string bm = r.before_window.empty()
                       ? ""
                       : r.before_window.front().str() + " to " + r.before_window.back().str();
  std::string am = r.after_window.empty()
                       ? ""
                       : r.after_window.front().str() + " to " + r.after_window.back().str();
  for (const auto& c : r.comparison)
    out += csv_line({c.from_agency, c.to_agency, c.split, c.category, std::to_string(c.before),
                     std::to_string(c.after), pct_text(c.change_pct), bm, am});

  out += "\r\n" + csv_line({"method", "text"});
  out += csv_line({"volume", volume_method_text(r)});
  out += csv_line({"substitution", substitution_method_text(r)});
  out += csv_line({"comparison", comparison_method_text(r)});
  out += csv_line({"exclusions", exclusions_text(r)});
  out += csv_line({"excluded_exercise_calls", std::to_string(r.excluded_exercise_calls)});
  out += csv_line({"excluded_non_live_transfers", std::to_string(r.excluded_non_live_transfers)});
  out += csv_line(
      {"excluded_calls_from_uncounted_sources", std::to_string(r.excluded_uncounted_source_calls)});
  for (const auto& n : r.notes) out += csv_line({"note", n});
  return out;
}

// ---- HTML ---------------------------------------------------------------------------------

namespace {

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

struct series {
  std::string name;
  std::string css;  // a class in the page's style: s1..s4, base
  std::vector<std::optional<double>> values;
  bool line = false;  // drawn as a line (else as bars)
};

// A small SVG chart: bars (side by side, or stacked) and lines over the months, with a zero line
// and a labelled y axis. Colours come from classes in the page's single style element.
std::string svg_chart(const std::string& title, const std::vector<std::string>& labels,
                      const std::vector<series>& ss, bool stacked, const std::string& unit) {
  const double w = 700, h = 230, left = 64, right = 10, top = 26, bottom = 40;
  const double pw = w - left - right, ph = h - top - bottom;
  const std::size_t n = labels.size();
  double lo = 0, hi = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double pos = 0, neg = 0;
    for (const auto& s : ss) {
      if (!s.values[i]) continue;
      double v = *s.values[i];
      if (!s.line && stacked) {
        (v >= 0 ? pos : neg) += v;
      } else {
        hi = std::max(hi, v);
        lo = std::min(lo, v);
      }
    }
    hi = std::max(hi, pos);
    lo = std::min(lo, neg);
  }
  if (hi - lo < 1e-9) hi = lo + 1;
  // A round step for the axis: 1, 2 or 5 times a power of ten, about four steps.
  double raw = (hi - lo) / 4, mag = std::pow(10.0, std::floor(std::log10(raw))), step = mag;
  for (double f : {1.0, 2.0, 5.0, 10.0})
    if (f * mag >= raw) {
      step = f * mag;
      break;
    }
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;
  auto y = [&](double v) { return top + ph - (v - lo) / (hi - lo) * ph; };
  auto x = [&](std::size_t i) { return left + pw * (static_cast<double>(i) + 0.5) / n; };

  std::ostringstream o;
  o << "<svg class=\"chart\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\""
    << esc(title) << "\"><text class=\"ct\" x=\"" << left << "\" y=\"16\">" << esc(title)
    << "</text>";
  for (double v = lo; v <= hi + step / 2; v += step) {
    o << "<line class=\"grid\" x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << num(y(v))
      << "\" y2=\"" << num(y(v)) << "\"/><text class=\"ax\" x=\"" << left - 4 << "\" y=\""
      << num(y(v) + 3) << "\" text-anchor=\"end\">" << esc(unit)
      << num(v).substr(0, num(v).size() - 2) << "</text>";
  }
  o << "<line class=\"zero\" x1=\"" << left << "\" x2=\"" << w - right << "\" y1=\"" << num(y(0))
    << "\" y2=\"" << num(y(0)) << "\"/>";
  std::size_t label_every = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < n; i += label_every)
    o << "<text class=\"ax\" x=\"" << num(x(i)) << "\" y=\"" << h - bottom + 14
      << "\" text-anchor=\"middle\">" << esc(labels[i]) << "</text>";
  std::size_t bars = 0;
  for (const auto& s : ss) bars += s.line ? 0 : 1;
  const double slot = pw / n * 0.8;
  const double bw = stacked || bars == 0 ? slot : slot / static_cast<double>(bars);
  for (std::size_t i = 0; i < n; ++i) {
    double pos = 0, neg = 0;
    std::size_t b = 0;
    for (const auto& s : ss) {
      if (s.line) continue;
      if (s.values[i]) {
        double v = *s.values[i], base = 0;
        if (stacked) {
          base = v >= 0 ? pos : neg;
          (v >= 0 ? pos : neg) += v;
        }
        double y0 = y(base), y1 = y(base + v);
        double bx = x(i) - slot / 2 + (stacked ? 0 : bw * static_cast<double>(b));
        o << "<rect class=\"" << s.css << "\" x=\"" << num(bx) << "\" y=\"" << num(std::min(y0, y1))
          << "\" width=\"" << num(bw) << "\" height=\"" << num(std::max(0.5, std::abs(y1 - y0)))
          << "\"><title>" << esc(labels[i]) << " " << esc(s.name) << ": " << num(v)
          << "</title></rect>";
      }
      ++b;
    }
  }
  for (const auto& s : ss) {
    if (!s.line) continue;
    std::string pts;
    for (std::size_t i = 0; i < n; ++i) {
      if (!s.values[i]) {
        if (!pts.empty()) o << "<polyline class=\"" << s.css << " ln\" points=\"" << pts << "\"/>";
        pts.clear();
        continue;
      }
      pts += num(x(i)) + "," + num(y(*s.values[i])) + " ";
    }
    if (!pts.empty()) o << "<polyline class=\"" << s.css << " ln\" points=\"" << pts << "\"/>";
  }
  // Legend.
  double lx = left;
  for (const auto& s : ss) {
    o << "<rect class=\"" << s.css << "\" x=\"" << num(lx) << "\" y=\"" << h - 14
      << "\" width=\"10\" height=\"10\"/><text class=\"ax\" x=\"" << num(lx + 14) << "\" y=\""
      << h - 5 << "\">" << esc(s.name) << "</text>";
    lx += 24 + 6.2 * static_cast<double>(s.name.size());
  }
  o << "</svg>";
  return o.str();
}

std::string td(const std::string& v, bool numeric = true) {
  return std::string(numeric ? "<td class=\"n\">" : "<td>") + esc(v) + "</td>";
}

std::string pct_cell(std::optional<double> p) {
  return td(p ? pct_text(p) + "%" : "–");
}

std::string gbp(const std::optional<std::int64_t>& pence) {
  return pence ? "£" + pounds(*pence) : "–";
}

const char* figures_head =
    "<tr><th>Direction</th><th>Calls</th><th>Emergency</th><th>Non-emergency</th>"
    "<th>Baseline</th><th>Transfers</th><th>Completed electronically</th><th>Fell back</th>"
    "<th>Volume: calls avoided</th><th>Reduction</th><th>Volume: £ saved</th>"
    "<th>Substitution: calls avoided</th><th>Substitution: £ saved</th></tr>";

std::string figures_row(const std::string& label, const direction_figures& d, bool totals,
                        bool strong) {
  std::string o = strong ? "<tr class=\"tot\">" : "<tr>";
  o += td(label, false) + td(std::to_string(d.calls.total)) +
       td(std::to_string(d.calls.emergency)) + td(std::to_string(d.calls.non_emergency)) +
       td(opt_text(totals ? d.volume_baseline_centi : d.baseline_centi, centi_text)) +
       td(std::to_string(d.transfers.total)) + td(std::to_string(d.completed_electronically)) +
       td(std::to_string(d.fell_back)) + td(opt_text(d.volume_avoided_centi, centi_text)) +
       pct_cell(reduction_pct(d)) + td(gbp(d.volume_saved_pence)) +
       td(std::to_string(d.substitution_avoided)) + td(gbp(d.substitution_saved_pence));
  return o + "</tr>";
}

// The HTML copy is for people: agencies by name (an id no longer configured stays an id) and
// months by name.
std::string agency_label(const savings_report& r, const std::string& id) {
  auto it = r.agency_names.find(id);
  return it == r.agency_names.end() ? id : it->second;
}

std::string direction_label(const savings_report& r, const std::string& from,
                            const std::string& to) {
  return agency_label(r, from) + " → " + agency_label(r, to);
}

std::string direction_label(const savings_report& r, const direction_figures& d) {
  return direction_label(r, d.from_agency, d.to_agency);
}

std::string month_label(year_month m, bool short_name = false) {
  static const char* const names[] = {"January",   "February", "March",    "April",
                                      "May",       "June",     "July",     "August",
                                      "September", "October",  "November", "December"};
  std::string n = names[(m.month - 1) % 12];
  if (short_name) n.resize(3);
  return n + " " + std::to_string(m.year);
}

}  // namespace

const std::string& savings_html_style() {
  static const std::string css =
      "body{font-family:Arial,Helvetica,sans-serif;color:#1a1a1a;margin:24px;font-size:13px}"
      "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:22px 0 6px;"
      "border-bottom:2px solid #1d4f91;padding-bottom:2px}h3{font-size:14px;margin:14px 0 4px}"
      ".sub{color:#555;margin:0 0 12px}"
      ".method{background:#f3f6fa;border-left:4px solid #1d4f91;padding:6px 10px;margin:6px 0 10px}"
      ".note{background:#fff6e0;border-left:4px solid #c98a00;padding:6px 10px;margin:6px 0}"
      "table{border-collapse:collapse;margin:6px 0 12px;width:100%}"
      "th,td{border:1px solid #c8ced6;padding:3px 6px;vertical-align:top}"
      "th{background:#e8edf3;text-align:left;font-weight:bold}td.n{text-align:right;"
      "font-variant-numeric:tabular-nums;white-space:nowrap}tr.tot td{font-weight:bold;"
      "background:#f7f7f7}"
      ".cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #c8ced6;padding:8px 12px;"
      "min-width:180px}.card b{display:block;font-size:20px}"
      ".chart{width:100%;max-width:700px;height:auto;display:block;margin:4px 0 10px}"
      ".ct{font-size:13px;font-weight:bold;fill:#1a1a1a}.ax{font-size:10px;fill:#444}"
      ".grid{stroke:#e3e3e3;stroke-width:1}.zero{stroke:#777;stroke-width:1}"
      ".s1{fill:#1d4f91;stroke:#1d4f91}.s2{fill:#e07b00;stroke:#e07b00}"
      ".s3{fill:#2e8b57;stroke:#2e8b57}.s4{fill:#b03a2e;stroke:#b03a2e}"
      ".base{fill:#888;stroke:#888}.ln{fill:none;stroke-width:2}.base.ln{stroke-dasharray:5 4}"
      ".pair{display:grid;grid-template-columns:1fr;gap:4px}"
      "@page{size:A4 landscape;margin:12mm}"
      "@media print{body{margin:0;font-size:10px}h2{break-after:avoid}"
      "table,.chart,.method,.card{break-inside:avoid}tr{break-inside:avoid}"
      "thead{display:table-header-group}.chart{max-width:100%}"
      "th{background:#e8edf3!important;-webkit-print-color-adjust:exact;print-color-adjust:exact}"
      ".method{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";
  return css;
}

std::string to_html(const savings_report& r) {
  std::ostringstream o;
  o << "<!DOCTYPE html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Savings report "
    << month_label(r.from) << " to " << month_label(r.to) << "</title><style>"
    << savings_html_style() << "</style></head><body>";
  o << "<h1>Inter-agency phone calls and savings, " << esc(month_label(r.from)) << " to "
    << esc(month_label(r.to)) << "</h1><p class=\"sub\">Generated "
    << esc(format_rfc3339(r.generated_at))
    << ". Go-live: " << esc(r.go_live.empty() ? std::string("not set") : r.go_live)
    << ". Baseline: " << esc(r.baseline_method)
    << ". Savings are non-cashable (staff time released).</p>";
  for (const auto& n : r.notes) o << "<p class=\"note\">" << esc(n) << "</p>";

  const auto& t = r.overall.total;
  o << "<h2>Summary</h2><div class=\"cards\">"
    << "<div class=\"card\">Calls logged<b>" << t.calls.total << "</b></div>"
    << "<div class=\"card\">Volume: calls avoided<b>"
    << esc(opt_text(t.volume_avoided_centi, centi_text).empty()
               ? std::string("–")
               : opt_text(t.volume_avoided_centi, centi_text))
    << "</b>" << esc(reduction_pct(t) ? pct_text(reduction_pct(t)) + "% below baseline" : "")
    << "</div><div class=\"card\">Volume: £ saved<b>" << esc(gbp(t.volume_saved_pence))
    << "</b></div><div class=\"card\">Substitution: £ saved<b>"
    << esc(gbp(t.substitution_saved_pence)) << "</b>" << t.substitution_avoided
    << " transfers without a call</div><div class=\"card\">Excluded<b>"
    << r.excluded_exercise_calls + r.excluded_uncounted_source_calls + r.excluded_non_live_transfers
    << "</b>" << r.excluded_exercise_calls << " exercise calls, "
    << r.excluded_uncounted_source_calls << " calls from uncounted sources, "
    << r.excluded_non_live_transfers << " exercise/test transfers</div></div>";

  std::vector<std::string> labels;
  for (const auto& mf : r.months) labels.push_back(month_label(mf.month, true));
  auto per_month = [&](auto f) {
    std::vector<std::optional<double>> v;
    for (const auto& mf : r.months) v.push_back(f(mf));
    return v;
  };

  o << "<h2>Volume method</h2><p class=\"method\">" << esc(volume_method_text(r)) << "</p>";
  for (std::size_t di = 0; di < r.overall.directions.size(); ++di) {
    const auto& name = r.overall.directions[di];
    series calls{"calls", "s1", per_month([&](const month_figures& mf) -> std::optional<double> {
                   return static_cast<double>(mf.directions[di].calls.total);
                 }),
                 false};
    series base{"baseline", "base",
                per_month([&](const month_figures& mf) -> std::optional<double> {
                  const auto& b = mf.directions[di].baseline_centi;
                  if (!b) return std::nullopt;
                  return static_cast<double>(*b) / 100.0;
                }),
                true};
    o << svg_chart("Calls per month against baseline: " + direction_label(r, name), labels,
                   {calls, base}, false, "");
  }
  o << svg_chart(
      "Emergency and non-emergency calls per month (all directions)", labels,
      {{"emergency", "s4", per_month([](const month_figures& mf) -> std::optional<double> {
          return static_cast<double>(mf.total.calls.emergency);
        })},
       {"non-emergency", "s1", per_month([](const month_figures& mf) -> std::optional<double> {
          return static_cast<double>(mf.total.calls.non_emergency);
        })}},
      true, "");
  o << svg_chart(
      "Calls avoided per month (all directions)", labels,
      {{"volume", "s1", per_month([](const month_figures& mf) -> std::optional<double> {
          if (!mf.total.volume_avoided_centi) return std::nullopt;
          return static_cast<double>(*mf.total.volume_avoided_centi) / 100.0;
        })},
       {"substitution", "s3", per_month([](const month_figures& mf) -> std::optional<double> {
          return static_cast<double>(mf.total.substitution_avoided);
        })}},
      false, "");

  o << "<h2>Substitution method</h2><p class=\"method\">" << esc(substitution_method_text(r))
    << "</p>";
  o << svg_chart("Transfers per month (all directions)", labels,
                 {{"completed electronically", "s3",
                   per_month([](const month_figures& mf) -> std::optional<double> {
                     return static_cast<double>(mf.total.completed_electronically);
                   })},
                  {"fell back to the phone", "s4",
                   per_month([](const month_figures& mf) -> std::optional<double> {
                     return static_cast<double>(mf.total.fell_back);
                   })},
                  {"other (pending, cancelled, expired)", "base",
                   per_month([](const month_figures& mf) -> std::optional<double> {
                     return static_cast<double>(mf.total.transfers.total -
                                                mf.total.completed_electronically -
                                                mf.total.fell_back);
                   })}},
                 true, "");
  o << svg_chart(
      "Cumulative £ saved", labels,
      {{"volume", "s1", per_month([](const month_figures& mf) -> std::optional<double> {
          return static_cast<double>(mf.cumulative_volume_pence) / 100.0;
        }),
        true},
       {"substitution", "s3", per_month([](const month_figures& mf) -> std::optional<double> {
          return static_cast<double>(mf.cumulative_substitution_pence) / 100.0;
        }),
        true}},
      false, "£");

  o << "<h2>Totals</h2><p class=\"method\">Every total is the sum of the monthly rows below it. "
    << esc(exclusions_text(r)) << "</p>";
  auto totals_table = [&](const totals_block& b, const std::string& title) {
    o << "<h3>" << esc(title) << " (" << month_label(b.first) << " to " << month_label(b.last)
      << ")</h3><table><thead>" << figures_head << "</thead><tbody>";
    for (const auto& d : b.directions) o << figures_row(direction_label(r, d), d, true, false);
    o << figures_row("All directions", b.total, true, true) << "</tbody></table>";
  };
  totals_table(r.overall, "Whole report");
  for (const auto& b : r.financial_years) totals_table(b, "Financial year " + b.label);

  o << "<h2>Before and after go-live</h2><p class=\"method\">" << esc(comparison_method_text(r))
    << "</p>";
  if (!r.comparison.empty()) {
    o << "<table><thead><tr><th>Direction</th><th>Calls</th><th>Before</th><th>After</th>"
         "<th>Change</th></tr></thead><tbody>";
    for (const auto& c : r.comparison) {
      std::string what = c.split == "all"             ? "all calls"
                         : c.split == "emergency"     ? "emergency"
                         : c.split == "non_emergency" ? "non-emergency"
                                                      : "category: " + c.category;
      o << (c.split == "all" ? "<tr class=\"tot\">" : "<tr>")
        << td(direction_label(r, c.from_agency, c.to_agency), false) << td(what, false)
        << td(std::to_string(c.before)) << td(std::to_string(c.after)) << pct_cell(c.change_pct)
        << "</tr>";
    }
    o << "</tbody></table>";
  }

  o << "<h2>Month by month</h2><p class=\"method\">Baseline = calls per month; volume and "
       "substitution as described above. Cumulative figures run from "
    << month_label(r.from) << ".</p>";
  for (const auto& mf : r.months) {
    o << "<h3>" << month_label(mf.month) << " (financial year "
      << financial_year_label(mf.financial_year) << "): cumulative £ saved, volume "
      << esc(gbp(mf.cumulative_volume_pence)) << ", substitution "
      << esc(gbp(mf.cumulative_substitution_pence)) << "</h3><table><thead>" << figures_head
      << "</thead><tbody>";
    for (const auto& d : mf.directions) o << figures_row(direction_label(r, d), d, false, false);
    o << figures_row("All directions", mf.total, false, true) << "</tbody></table>";
  }

  o << "<h2>Left out</h2><table><tbody><tr><td>Exercise calls</td>"
    << td(std::to_string(r.excluded_exercise_calls))
    << "</tr><tr><td>Exercise and test transfers</td>"
    << td(std::to_string(r.excluded_non_live_transfers))
    << "</tr><tr><td>Calls from sources not counted</td>"
    << td(std::to_string(r.excluded_uncounted_source_calls)) << "</tr></tbody></table>";
  o << "</body></html>\n";
  return o.str();
}

}  // namespace bl
