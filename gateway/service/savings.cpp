#include "gateway/service/savings.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "gateway/store/sqlite/sqlite.hpp"

namespace bl {

using nlohmann::json;

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

// Small sets of strings (agencies, reasons, states) as dense ids, looked up without allocating:
// a report reads a million rows, and there are a few dozen distinct values. Each name is
// compared first by a fingerprint (its length and first and last 8 bytes), then confirmed.
class interner {
 public:
  /// `hint` is the caller's last answer for the same column: consecutive rows often repeat it.
  int id(const unsigned char* p, int n, int& hint) {
    const char* s = p ? reinterpret_cast<const char*>(p) : "";
    const fingerprint f = fingerprint_of(s, static_cast<std::size_t>(n));
    auto same = [&](std::size_t i) {
      return prints_[i] == f &&
             (n <= 16 || std::memcmp(names_[i].data(), s, static_cast<std::size_t>(n)) == 0);
    };
    if (hint >= 0 && same(static_cast<std::size_t>(hint))) return hint;
    for (std::size_t i = 0; i < names_.size(); ++i)
      if (same(i)) return hint = static_cast<int>(i);
    names_.emplace_back(s, static_cast<std::size_t>(n));
    prints_.push_back(f);
    return hint = static_cast<int>(names_.size() - 1);
  }
  int id(const std::string& s) {
    int hint = -1;
    return id(reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()), hint);
  }
  const std::string& name(int i) const { return names_[static_cast<std::size_t>(i)]; }

 private:
  struct fingerprint {
    std::uint64_t head = 0, tail = 0, size = 0;
    bool operator==(const fingerprint& o) const {
      return head == o.head && tail == o.tail && size == o.size;
    }
  };
  static fingerprint fingerprint_of(const char* s, std::size_t n) {
    fingerprint f;
    f.size = n;
    std::memcpy(&f.head, s, std::min<std::size_t>(n, 8));
    if (n > 8) std::memcpy(&f.tail, s + (n >= 16 ? n - 8 : 8), std::min<std::size_t>(n - 8, 8));
    return f;
  }
  std::vector<std::string> names_;
  std::vector<fingerprint> prints_;
};

// Counts per packed key: open addressing with linear probing, a few thousand keys at most.
class counter_map {
 public:
  counter_map() : slots_(1024, {empty, 0}) {}
  std::int64_t& operator[](std::uint64_t key) {
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = (key * 0x9E3779B97F4A7C15ull) >> shift_;; i = (i + 1) & mask) {
      if (slots_[i].first == key) return slots_[i].second;
      if (slots_[i].first == empty) {
        if (++used_ * 2 > slots_.size()) {
          grow();
          return (*this)[key];
        }
        slots_[i].first = key;
        return slots_[i].second;
      }
    }
  }
  /// Every key that was counted, with its count.
  std::vector<std::pair<std::uint64_t, std::int64_t>> entries() const {
    std::vector<std::pair<std::uint64_t, std::int64_t>> out;
    for (const auto& kv : slots_)
      if (kv.first != empty) out.push_back(kv);
    return out;
  }

 private:
  static constexpr std::uint64_t empty = ~0ull;
  void grow() {
    auto old = std::move(slots_);
    slots_.assign(old.size() * 2, {empty, 0});
    --shift_;
    used_ = 0;
    for (const auto& [k, v] : old)
      if (k != empty) (*this)[k] = v;
  }
  std::vector<std::pair<std::uint64_t, std::int64_t>> slots_;
  int shift_ = 64 - 10;
  std::size_t used_ = 0;
};

// A prepared statement read with the raw column API (no string copies per row).
class query {
 public:
  query(store::db& d, const char* sql) : d_(d) {
    int rc = sqlite3_prepare_v2(d.handle(), sql, -1, &s_, nullptr);
    if (rc != SQLITE_OK) d.fail(rc, "prepare savings query");
  }
  ~query() { sqlite3_finalize(s_); }
  query(const query&) = delete;
  query& operator=(const query&) = delete;
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    d_.fail(rc, "read for the savings report");
  }
  std::int64_t i64(int c) const { return sqlite3_column_int64(s_, c); }
  const unsigned char* txt(int c) const { return sqlite3_column_text(s_, c); }
  int len(int c) const { return sqlite3_column_bytes(s_, c); }
  bool null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }

 private:
  store::db& d_;
  sqlite3_stmt* s_ = nullptr;
};

// Month boundaries (UTC ms of UK midnight on the 1st) for a run of months.
struct month_range {
  year_month first;
  std::vector<std::int64_t> starts;  // size months+1: the start of each month and of the next

  month_range(year_month a, year_month b) : first(a) {
    for (int i = a.index(); i <= b.index() + 1; ++i)
      starts.push_back(to_ms(uk_month_start(year_month::from_index(i))));
  }
  int months() const { return static_cast<int>(starts.size()) - 1; }
  // The month index of `t`, which must lie within the range.
  int month_of(std::int64_t t) const {
    auto it = std::upper_bound(starts.begin(), starts.end(), t);
    return first.index() + static_cast<int>(it - starts.begin()) - 1;
  }
};

// Keys packed into 64 bits: month index (20 bits), from, to, category (12 bits each), flags.
std::uint64_t pack(int month, int from, int to, int cat, int flags) {
  return (static_cast<std::uint64_t>(month) << 40) | (static_cast<std::uint64_t>(from) << 28) |
         (static_cast<std::uint64_t>(to) << 16) | (static_cast<std::uint64_t>(cat) << 4) |
         static_cast<std::uint64_t>(flags);
}
struct unpacked {
  int month, from, to, cat, flags;
};
unpacked unpack(std::uint64_t k) {
  return {static_cast<int>(k >> 40), static_cast<int>((k >> 28) & 0xfff),
          static_cast<int>((k >> 16) & 0xfff), static_cast<int>((k >> 4) & 0xfff),
          static_cast<int>(k & 0xf)};
}

constexpr int flag_emergency = 1;
constexpr int flag_completed = 2;

struct raw_data {
  interner agencies, categories;
  // Counted calls per (month, from, to, reason, emergency).
  counter_map calls;
  // Live transfers per (month, requester, responder, category, emergency|completed).
  counter_map transfers;
  // The same, for live transfers with a call linked to them.
  counter_map fell_back;
  std::set<int> months_with_calls;
  // Excluded rows, per month.
  std::map<int, std::int64_t> exercise_calls, uncounted_calls, non_live_transfers;
};

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

void read_calls(store::db& d, const gateway_config& cfg, const month_range& r, raw_data& out) {
  // Walks the covering index calls_report in time order, so a month is one boundary check.
  query q(d,
          "SELECT started_at, source, exercise, from_agency, to_agency, emergency, reason"
          " FROM calls WHERE started_at >= ?1 AND started_at < ?2 ORDER BY started_at");
  q.bind(1, r.starts.front());
  q.bind(2, r.starts.back());
  bool counted[3] = {false, false, false};  // console, api, import
  for (const auto& s : cfg.savings.count_sources)
    counted[s == "console" ? 0 : s == "api" ? 1 : 2] = true;
  const int unclassified = out.categories.id("unclassified");
  int month = r.first.index(), next = 1, last_with_calls = -1;
  int h_from = -1, h_to = -1, h_cat = -1;
  while (q.step()) {
    std::int64_t t = q.i64(0);
    while (t >= r.starts[static_cast<std::size_t>(next)]) ++next, ++month;
    if (q.i64(2) != 0) {
      ++out.exercise_calls[month];
      continue;
    }
    const unsigned char* src = q.txt(1);
    int si = src && src[0] == 'c' ? 0 : src && src[0] == 'a' ? 1 : 2;
    if (!counted[si]) {
      ++out.uncounted_calls[month];
      continue;
    }
    int from = out.agencies.id(q.txt(3), q.len(3), h_from);
    int to = out.agencies.id(q.txt(4), q.len(4), h_to);
    int cat = q.null(6) ? unclassified : out.categories.id(q.txt(6), q.len(6), h_cat);
    ++out.calls[pack(month, from, to, cat, q.i64(5) != 0 ? flag_emergency : 0)];
    if (month != last_with_calls) out.months_with_calls.insert(last_with_calls = month);
  }
}

bool completed_state(const unsigned char* s, int n) {
  auto is = [&](const char* w) {
    return static_cast<std::size_t>(n) == std::strlen(w) && std::memcmp(s, w, n) == 0;
  };
  return s && (is("accepted") || is("declined") || is("closed"));
}

void read_transfers(store::db& d, const month_range& r, raw_data& out) {
  {
    query q(d,
            "SELECT created_at, mode, state, priority, category, requester, responder"
            " FROM transfers WHERE created_at >= ?1 AND created_at < ?2 ORDER BY created_at");
    q.bind(1, r.starts.front());
    q.bind(2, r.starts.back());
    int month = r.first.index(), next = 1;
    int h_from = -1, h_to = -1, h_cat = -1;
    while (q.step()) {
      std::int64_t t = q.i64(0);
      while (t >= r.starts[static_cast<std::size_t>(next)]) ++next, ++month;
      const unsigned char* mode = q.txt(1);
      if (!mode || q.len(1) != 4 || std::memcmp(mode, "live", 4) != 0) {
        ++out.non_live_transfers[month];
        continue;
      }
      int flags =
          (completed_state(q.txt(2), q.len(2)) ? flag_completed : 0) |
          (q.len(3) == 9 && std::memcmp(q.txt(3), "emergency", 9) == 0 ? flag_emergency : 0);
      int cat = out.categories.id(q.txt(4), q.len(4), h_cat);
      int from = out.agencies.id(q.txt(5), q.len(5), h_from);
      int to = out.agencies.id(q.txt(6), q.len(6), h_to);
      ++out.transfers[pack(month, from, to, cat, flags)];
    }
  }
  // Transfers that fell back to the phone: few, found from the calls linked to them.
  query q(d,
          "SELECT created_at, state, priority, category, requester, responder FROM transfers"
          " WHERE mode = 'live' AND created_at >= ?1 AND created_at < ?2 AND id IN"
          " (SELECT transfer_id FROM calls WHERE transfer_id IS NOT NULL AND exercise = 0)");
  q.bind(1, r.starts.front());
  q.bind(2, r.starts.back());
  while (q.step()) {
    int month = r.month_of(q.i64(0));
    int flags = (completed_state(q.txt(1), q.len(1)) ? flag_completed : 0) |
                (q.len(2) == 9 && std::memcmp(q.txt(2), "emergency", 9) == 0 ? flag_emergency : 0);
    int hint = -1;
    int cat = out.categories.id(q.txt(3), q.len(3), hint);
    int from = out.agencies.id(q.txt(4), q.len(4), hint = -1);
    int to = out.agencies.id(q.txt(5), q.len(5), hint = -1);
    ++out.fell_back[pack(month, from, to, cat, flags)];
  }
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

}  // namespace

savings_report compute_savings(const gateway_config& cfg, store::db& ro, year_month from,
                               year_month to, time_point now) {
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

  // Which months to read: the report, the baseline window and the comparison windows.
  std::set<int> call_months, report_months;
  for (int m = from.index(); m <= to.index(); ++m) call_months.insert(m), report_months.insert(m);
  const bool imported = sc.baseline_method != "entered";
  if (r.go_live_month) {
    const year_month g = *r.go_live_month;
    if (imported)
      for (int i = sc.baseline_months; i >= 1; --i) r.baseline_window.push_back(g.plus(-i));
    for (int i = sc.comparison_months; i >= 1; --i) r.before_window.push_back(g.plus(-i));
    int first_after = r.go_live_first_of_month ? 0 : 1;
    for (int i = 0; i < sc.comparison_months; ++i)
      r.after_window.push_back(g.plus(first_after + i));
    for (auto m : r.baseline_window) call_months.insert(m.index());
    for (auto m : r.before_window) call_months.insert(m.index());
    for (auto m : r.after_window) call_months.insert(m.index());
  }

  raw_data raw;
  for (auto [a, b] : runs_of(call_months)) read_calls(ro, cfg, month_range(a, b), raw);
  read_transfers(ro, month_range(from, to), raw);

  auto cost_of = [&](const std::string& agency) {
    auto it = r.cost_per_call_pence.find(agency);
    return it == r.cost_per_call_pence.end() ? 400 : it->second;
  };
  std::set<std::string> unknown;

  // Baseline per (direction, emergency, category), and per direction (in hundredths of a call).
  if (r.go_live_month && imported) {
    for (auto m : r.baseline_window)
      if (raw.months_with_calls.count(m.index())) ++r.baseline_months_with_data;
    std::map<std::tuple<std::string, std::string, bool, std::string>, std::int64_t> sums;
    std::map<direction_key, std::int64_t> dir_sums;
    std::set<int> window;
    for (auto m : r.baseline_window) window.insert(m.index());
    for (const auto& [k, n] : raw.calls.entries()) {
      auto u = unpack(k);
      if (!window.count(u.month)) continue;
      const auto& f = raw.agencies.name(u.from);
      const auto& t = raw.agencies.name(u.to);
      sums[{f, t, (u.flags & flag_emergency) != 0, raw.categories.name(u.cat)}] += n;
      dir_sums[{f, t}] += n;
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
  for (const auto& [k, n] : raw.calls.entries()) {
    auto u = unpack(k);
    if (report_months.count(u.month))
      dirs.insert({raw.agencies.name(u.from), raw.agencies.name(u.to)});
  }
  for (const auto& [k, n] : raw.transfers.entries()) {
    auto u = unpack(k);
    dirs.insert({raw.agencies.name(u.from), raw.agencies.name(u.to)});
  }
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
  auto row = [&](int month, int from_id, int to_id) -> direction_figures* {
    if (month < from.index() || month > to.index()) return nullptr;
    auto it = dir_index.find({raw.agencies.name(from_id), raw.agencies.name(to_id)});
    return &r.months[static_cast<std::size_t>(month - from.index())].directions[it->second];
  };
  for (const auto& [k, n] : raw.calls.entries()) {
    auto u = unpack(k);
    if (auto* df = row(u.month, u.from, u.to))
      df->calls.add((u.flags & flag_emergency) != 0, raw.categories.name(u.cat), n);
  }
  for (const auto& [k, n] : raw.transfers.entries()) {
    auto u = unpack(k);
    auto* df = row(u.month, u.from, u.to);
    df->transfers.add((u.flags & flag_emergency) != 0, raw.categories.name(u.cat), n);
    if (u.flags & flag_completed) df->completed_electronically += n;
  }
  for (const auto& [k, n] : raw.fell_back.entries()) {
    auto u = unpack(k);
    auto* df = row(u.month, u.from, u.to);
    df->fell_back += n;
    if (u.flags & flag_completed) df->completed_electronically -= n;
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
    for (const auto& [k, n] : raw.calls.entries()) {
      auto u = unpack(k);
      bool b = before.count(u.month) > 0, a = after.count(u.month) > 0;
      if (!b && !a) continue;
      auto& lines = acc[{raw.agencies.name(u.from), raw.agencies.name(u.to)}];
      for (auto key :
           {std::make_pair(std::string("all"), std::string()),
            std::make_pair(std::string((u.flags & flag_emergency) ? "emergency" : "non_emergency"),
                           std::string()),
            std::make_pair(std::string("category"), raw.categories.name(u.cat))}) {
        (b ? lines[key].before : lines[key].after) += n;
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

  for (int m = from.index(); m <= to.index(); ++m) {
    auto get = [m](const std::map<int, std::int64_t>& c) {
      auto it = c.find(m);
      return it == c.end() ? 0 : it->second;
    };
    r.excluded_exercise_calls += get(raw.exercise_calls);
    r.excluded_uncounted_source_calls += get(raw.uncounted_calls);
    r.excluded_non_live_transfers += get(raw.non_live_transfers);
  }
  for (const auto& a : unknown)
    r.notes.push_back("'" + a +
                      "' appears in the records but is not a configured agency: its calls are "
                      "costed at the default £4.00.");
  return r;
}

savings_report compute_savings(const gateway_config& cfg, const std::string& db_path,
                               year_month from, year_month to, time_point now) {
  store::db ro(db_path, false, true);
  ro.exec("PRAGMA busy_timeout = " + std::to_string(cfg.busy_timeout_ms));
  // Read the file through a memory map: no copy of each page into SQLite's own cache.
  ro.exec("PRAGMA mmap_size = 4294967296");
  // One read transaction: every figure comes from the same snapshot of the database.
  ro.exec("BEGIN");
  try {
    auto r = compute_savings(cfg, ro, from, to, now);
    ro.exec("COMMIT");
    return r;
  } catch (...) {
    ro.exec("ROLLBACK");
    throw;
  }
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
