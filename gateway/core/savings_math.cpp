#include "gateway/core/savings_math.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <tuple>

namespace bl {

void split_counts::add(bool is_emergency, const std::string& category, std::int64_t n) {
  total += n;
  (is_emergency ? emergency : non_emergency) += n;
  by_category[category] += n;
}

void split_counts::add(const split_counts& o) {
  total += o.total;
  emergency += o.emergency;
  non_emergency += o.non_emergency;
  for (const auto& [k, v] : o.by_category) by_category[k] += v;
}

namespace {

// Integer division rounded half away from zero (den > 0).
std::int64_t round_div(std::int64_t num, std::int64_t den) {
  return num >= 0 ? (num * 2 + den) / (2 * den) : -((-num * 2 + den) / (2 * den));
}

// A percentage with one decimal, rounded half away from zero.
double pct1(std::int64_t num, std::int64_t den) {
  return static_cast<double>(round_div(num * 1000, den)) / 10.0;
}

void add_opt(std::optional<std::int64_t>& a, const std::optional<std::int64_t>& b) {
  if (!b) return;
  a = a.value_or(0) + *b;
}

}  // namespace

void direction_figures::add(const direction_figures& r) {
  calls.add(r.calls);
  transfers.add(r.transfers);
  completed_electronically += r.completed_electronically;
  fell_back += r.fell_back;
  add_opt(baseline_centi, r.baseline_centi);
  add_opt(volume_avoided_centi, r.volume_avoided_centi);
  add_opt(volume_baseline_centi, r.volume_baseline_centi);
  add_opt(volume_saved_pence, r.volume_saved_pence);
  substitution_avoided += r.substitution_avoided;
  substitution_saved_pence += r.substitution_saved_pence;
}

namespace {

// Merges a set of month indexes into runs of consecutive months.
std::vector<std::pair<year_month, year_month>> runs_of(const std::set<int>& months) {
  std::vector<std::pair<year_month, year_month>> out;
  for (int m : months) {
    if (!out.empty() && out.back().second.index() + 1 == m)
      out.back().second = year_month::from_index(m);
    else
      out.emplace_back(year_month::from_index(m), year_month::from_index(m));
  }
  return out;
}

std::optional<std::tuple<int, int, int>> parse_date(const std::string& s) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (s.size() != 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 ||
      s[4] != '-' || s[7] != '-' || !valid_date(y, m, d))
    return std::nullopt;
  return std::make_tuple(y, m, d);
}

using direction_key = std::pair<std::string, std::string>;

// The settings echo and the windows of a report: everything decided before any row is read.
savings_report report_frame(const gateway_config& cfg, year_month from, year_month to,
                            time_point now) {
  if (to < from)
    throw std::invalid_argument("the report's first month " + from.str() +
                                " is after its last month " + to.str());
  const savings_config& sc = cfg.savings;
  savings_report r;
  r.from = from;
  r.to = to;
  r.generated_at = now;
  r.go_live = sc.go_live;
  r.baseline_method = sc.baseline_method;
  r.count_sources = sc.count_sources;
  r.financial_year_start_month = sc.financial_year_start_month;
  r.comparison_months = sc.comparison_months;
  for (const auto& a : cfg.agencies) {
    r.cost_per_call_pence[a.id] = a.cost_per_call_pence;
    r.agency_names[a.id] = a.name;
  }

  if (!sc.go_live.empty()) {
    auto d = parse_date(sc.go_live);
    if (!d)
      throw std::invalid_argument("savings.go_live '" + sc.go_live +
                                  "' is not a real date written YYYY-MM-DD");
    r.go_live_month = year_month{std::get<0>(*d), std::get<1>(*d)};
    r.go_live_first_of_month = std::get<2>(*d) == 1;
  } else {
    r.notes.push_back(
        "No go-live date is set (savings.go_live), so there is no baseline and no before/after "
        "comparison: the volume method's figures are empty. Set the go-live date to see them.");
  }

  if (r.go_live_month) {
    const year_month g = *r.go_live_month;
    if (sc.baseline_method != "entered")
      for (int i = sc.baseline_months; i >= 1; --i) r.baseline_window.push_back(g.plus(-i));
    for (int i = sc.comparison_months; i >= 1; --i) r.before_window.push_back(g.plus(-i));
    int first_after = r.go_live_first_of_month ? 0 : 1;
    for (int i = 0; i < sc.comparison_months; ++i)
      r.after_window.push_back(g.plus(first_after + i));
  }
  return r;
}

}  // namespace

savings_reads savings_reads_for(const gateway_config& cfg, year_month from, year_month to) {
  const savings_report r = report_frame(cfg, from, to, time_point{});
  // Which months to read: the report, the baseline window and the comparison windows.
  std::set<int> call_months;
  for (int m = from.index(); m <= to.index(); ++m) call_months.insert(m);
  for (auto m : r.baseline_window) call_months.insert(m.index());
  for (auto m : r.before_window) call_months.insert(m.index());
  for (auto m : r.after_window) call_months.insert(m.index());
  savings_reads out;
  out.call_months = runs_of(call_months);
  out.transfers_from = from;
  out.transfers_to = to;
  out.count_sources = cfg.savings.count_sources;
  return out;
}

std::vector<savings_reads> split_savings_reads(const savings_reads& what, int parts) {
  // The weight of each month: one for its calls, one for its transfers.
  std::map<int, int> weight;
  for (const auto& [a, b] : what.call_months)
    for (int m = a.index(); m <= b.index(); ++m) ++weight[m];
  for (int m = what.transfers_from.index(); m <= what.transfers_to.index(); ++m) ++weight[m];
  int total = 0;
  for (const auto& [m, w] : weight) total += w;
  // The first month of each part after the first, where the running weight passes k/parts.
  std::vector<int> cuts;
  int running = 0;
  for (const auto& [m, w] : weight) {
    if (static_cast<int>(cuts.size()) + 1 < parts && running > 0 &&
        running * parts >= total * (static_cast<int>(cuts.size()) + 1))
      cuts.push_back(m);
    running += w;
  }
  std::vector<savings_reads> out;
  int lo = std::numeric_limits<int>::min();
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const int hi = i < cuts.size() ? cuts[i] - 1 : std::numeric_limits<int>::max();
    savings_reads part;
    part.count_sources = what.count_sources;
    for (const auto& [a, b] : what.call_months) {
      const int x = std::max(a.index(), lo), y = std::min(b.index(), hi);
      if (x <= y)
        part.call_months.emplace_back(year_month::from_index(x), year_month::from_index(y));
    }
    const int x = std::max(what.transfers_from.index(), lo);
    const int y = std::min(what.transfers_to.index(), hi);
    part.transfers_from = year_month::from_index(x <= y ? x : 1);
    part.transfers_to = year_month::from_index(x <= y ? y : 0);
    out.push_back(std::move(part));
    if (i < cuts.size()) lo = cuts[i];
  }
  return out;
}

void merge_savings_counts(savings_counts& into, savings_counts&& more) {
  auto append = [](auto& a, auto&& b) {
    a.insert(a.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
  };
  append(into.calls, std::move(more.calls));
  append(into.transfers, std::move(more.transfers));
  append(into.fell_back, std::move(more.fell_back));
  append(into.excluded, std::move(more.excluded));
}

savings_report savings_from_counts(const gateway_config& cfg, year_month from, year_month to,
                                   const savings_counts& counts, time_point now) {
  const savings_config& sc = cfg.savings;
  savings_report r = report_frame(cfg, from, to, now);
  const bool imported = sc.baseline_method != "entered";
  auto in_report = [&](year_month m) {
    return from.index() <= m.index() && m.index() <= to.index();
  };

  auto cost_of = [&](const std::string& agency) {
    auto it = r.cost_per_call_pence.find(agency);
    return it == r.cost_per_call_pence.end() ? 400 : it->second;
  };
  std::set<std::string> unknown;

  // Baseline per (direction, emergency, category), and per direction (in hundredths of a call).
  if (r.go_live_month && imported) {
    std::set<int> months_with_calls;
    for (const auto& c : counts.calls)
      if (c.count > 0) months_with_calls.insert(c.month.index());
    for (auto m : r.baseline_window)
      if (months_with_calls.count(m.index())) ++r.baseline_months_with_data;
    std::map<std::tuple<std::string, std::string, bool, std::string>, std::int64_t> sums;
    std::map<direction_key, std::int64_t> dir_sums;
    std::set<int> window;
    for (auto m : r.baseline_window) window.insert(m.index());
    for (const auto& c : counts.calls) {
      if (!window.count(c.month.index())) continue;
      sums[{c.from_agency, c.to_agency, c.emergency, c.category}] += c.count;
      dir_sums[{c.from_agency, c.to_agency}] += c.count;
    }
    const std::int64_t months = r.baseline_months_with_data;
    if (months == 0) {
      r.notes.push_back("No calls are recorded in the baseline months (" +
                        r.baseline_window.front().str() + " to " + r.baseline_window.back().str() +
                        "), so there is no baseline: import the telephony call records for them, "
                        "or enter the baseline (savings.baseline.method \"entered\").");
    } else {
      for (const auto& [k, n] : sums)
        r.baseline.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), std::get<3>(k),
                              round_div(n * 100, months)});
      for (const auto& [k, n] : dir_sums) r.baseline_by_direction[k] = round_div(n * 100, months);
      if (months < static_cast<std::int64_t>(r.baseline_window.size()))
        r.notes.push_back("Only " + std::to_string(months) + " of the " +
                          std::to_string(r.baseline_window.size()) +
                          " baseline months have any call records; the baseline averages over "
                          "those " +
                          std::to_string(months) + ".");
    }
  } else if (r.go_live_month) {
    for (const auto& f : sc.baseline) {
      auto centi = static_cast<std::int64_t>(std::llround(f.calls_per_month * 100));
      r.baseline.push_back({f.from_agency, f.to_agency, f.emergency, f.category, centi});
      r.baseline_by_direction[{f.from_agency, f.to_agency}] += centi;
    }
    if (sc.baseline.empty())
      r.notes.push_back(
          "The baseline method is \"entered\" but no figures are entered (savings.baseline), so "
          "the volume method has no figures.");
  }

  // The directions shown: every one with calls or transfers in the report, or a baseline.
  std::set<direction_key> dirs;
  for (const auto& c : counts.calls)
    if (in_report(c.month)) dirs.insert({c.from_agency, c.to_agency});
  for (const auto& t : counts.transfers)
    if (in_report(t.month)) dirs.insert({t.from_agency, t.to_agency});
  for (const auto& [k, c] : r.baseline_by_direction) dirs.insert(k);
  for (const auto& [f, t] : dirs) {
    if (!cfg.find_agency(f)) unknown.insert(f);
    if (!cfg.find_agency(t)) unknown.insert(t);
  }

  // The month rows.
  std::map<direction_key, std::size_t> dir_index;
  {
    std::size_t i = 0;
    for (const auto& k : dirs) dir_index[k] = i++;
  }
  for (int m = from.index(); m <= to.index(); ++m) {
    month_figures mf;
    mf.month = year_month::from_index(m);
    mf.financial_year = financial_year_of(mf.month, sc.financial_year_start_month);
    for (const auto& [f, t] : dirs) {
      direction_figures df;
      df.from_agency = f;
      df.to_agency = t;
      mf.directions.push_back(std::move(df));
    }
    r.months.push_back(std::move(mf));
  }
  auto row = [&](year_month month, const std::string& f,
                 const std::string& t) -> direction_figures* {
    if (!in_report(month)) return nullptr;
    auto it = dir_index.find({f, t});
    if (it == dir_index.end()) return nullptr;
    return &r.months[static_cast<std::size_t>(month.index() - from.index())].directions[it->second];
  };
  for (const auto& c : counts.calls)
    if (auto* df = row(c.month, c.from_agency, c.to_agency))
      df->calls.add(c.emergency, c.category, c.count);
  for (const auto& t : counts.transfers)
    if (auto* df = row(t.month, t.from_agency, t.to_agency)) {
      df->transfers.add(t.emergency, t.category, t.count);
      if (t.completed) df->completed_electronically += t.count;
    }
  for (const auto& t : counts.fell_back)
    if (auto* df = row(t.month, t.from_agency, t.to_agency)) {
      df->fell_back += t.count;
      if (t.completed) df->completed_electronically -= t.count;
    }

  // Per-row figures of both methods, then the month totals and the running sums.
  std::int64_t cum_volume = 0, cum_subst = 0;
  for (auto& mf : r.months) {
    mf.total = direction_figures{};
    for (auto& df : mf.directions) {
      const std::int64_t cost = cost_of(df.to_agency);
      if (auto it = r.baseline_by_direction.find({df.from_agency, df.to_agency});
          it != r.baseline_by_direction.end()) {
        df.baseline_centi = it->second;
        if (r.go_live_month && !(mf.month < *r.go_live_month)) {
          df.volume_baseline_centi = it->second;
          df.volume_avoided_centi = it->second - df.calls.total * 100;
          df.volume_saved_pence = round_div(*df.volume_avoided_centi * cost, 100);
        }
      }
      df.substitution_avoided = df.completed_electronically;
      df.substitution_saved_pence = df.completed_electronically * cost;
      mf.total.add(df);
    }
    cum_volume += mf.total.volume_saved_pence.value_or(0);
    cum_subst += mf.total.substitution_saved_pence;
    mf.cumulative_volume_pence = cum_volume;
    mf.cumulative_substitution_pence = cum_subst;
  }

  // Totals: each is the sum of the rows shown.
  auto make_totals = [&](const std::string& label, auto include) {
    totals_block b;
    b.label = label;
    bool any = false;
    for (const auto& [f, t] : dirs) {
      direction_figures df;
      df.from_agency = f;
      df.to_agency = t;
      b.directions.push_back(std::move(df));
    }
    for (const auto& mf : r.months) {
      if (!include(mf)) continue;
      if (!any) b.first = mf.month;
      b.last = mf.month;
      any = true;
      for (std::size_t i = 0; i < mf.directions.size(); ++i) b.directions[i].add(mf.directions[i]);
      b.total.add(mf.total);
    }
    return b;
  };
  r.overall = make_totals("", [](const month_figures&) { return true; });
  std::set<int> fys;
  for (const auto& mf : r.months) fys.insert(mf.financial_year);
  for (int fy : fys)
    r.financial_years.push_back(
        make_totals(financial_year_label(fy),
                    [fy](const month_figures& mf) { return mf.financial_year == fy; }));

  // Before/after comparison, per direction, emergency split and category.
  if (r.go_live_month) {
    std::set<int> before, after;
    for (auto m : r.before_window) before.insert(m.index());
    for (auto m : r.after_window) after.insert(m.index());
    struct ba {
      std::int64_t before = 0, after = 0;
    };
    std::map<direction_key, std::map<std::pair<std::string, std::string>, ba>> acc;
    for (const auto& c : counts.calls) {
      bool b = before.count(c.month.index()) > 0, a = after.count(c.month.index()) > 0;
      if (!b && !a) continue;
      auto& lines = acc[{c.from_agency, c.to_agency}];
      for (auto key :
           {std::make_pair(std::string("all"), std::string()),
            std::make_pair(std::string(c.emergency ? "emergency" : "non_emergency"), std::string()),
            std::make_pair(std::string("category"), c.category)}) {
        (b ? lines[key].before : lines[key].after) += c.count;
      }
    }
    const char* order[] = {"all", "emergency", "non_emergency", "category"};
    for (auto& [dir, lines] : acc) {
      // Both halves of the emergency split are shown even when one is empty.
      lines[{"emergency", ""}];
      lines[{"non_emergency", ""}];
      for (const char* split : order)
        for (const auto& [key, v] : lines) {
          if (key.first != split) continue;
          comparison_line c;
          c.from_agency = dir.first;
          c.to_agency = dir.second;
          c.split = key.first;
          c.category = key.second;
          c.before = v.before;
          c.after = v.after;
          if (v.before > 0) c.change_pct = pct1(v.after - v.before, v.before);
          r.comparison.push_back(std::move(c));
        }
    }
    const year_month current = uk_month_of(now);
    if (!r.after_window.empty() && current <= r.after_window.back())
      r.notes.push_back("The comparison's months after go-live run to " +
                        r.after_window.back().str() +
                        ", which is not over yet: its 'after' figures are still growing.");
  }

  for (const auto& e : counts.excluded) {
    if (!in_report(e.month)) continue;
    r.excluded_exercise_calls += e.exercise_calls;
    r.excluded_uncounted_source_calls += e.uncounted_source_calls;
    r.excluded_non_live_transfers += e.non_live_transfers;
  }
  for (const auto& a : unknown)
    r.notes.push_back("'" + a +
                      "' appears in the records but is not a configured agency: its calls are "
                      "costed at the default £4.00.");
  return r;
}

}  // namespace bl
