#include "gateway/store/sqlite/report_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "gateway/store/read_parts.hpp"
#include "gateway/store/sqlite/sqlite.hpp"

namespace bl::store {

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
  int id(std::string_view s) {
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
  query(db& d, const char* sql) : d_(d) {
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
  db& d_;
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
  // Excluded rows, per month.
  std::map<int, month_exclusions> excluded;
  month_exclusions& excluded_in(int month) {
    auto& e = excluded[month];
    e.month = year_month::from_index(month);
    return e;
  }
};

void read_calls(db& d, const std::vector<std::string>& count_sources, const month_range& r,
                raw_data& out) {
  // Walks the covering index calls_report in time order, so a month is one boundary check.
  query q(d,
          "SELECT started_at, source, exercise, from_agency, to_agency, emergency, reason"
          " FROM calls WHERE started_at >= ?1 AND started_at < ?2 ORDER BY started_at");
  q.bind(1, r.starts.front());
  q.bind(2, r.starts.back());
  bool counted[3] = {false, false, false};  // console, api, import
  for (const auto& s : count_sources) counted[s == "console" ? 0 : s == "api" ? 1 : 2] = true;
  const int unclassified = out.categories.id(unclassified_category);
  int month = r.first.index(), next = 1;
  int h_from = -1, h_to = -1, h_cat = -1;
  while (q.step()) {
    std::int64_t t = q.i64(0);
    while (t >= r.starts[static_cast<std::size_t>(next)]) ++next, ++month;
    if (q.i64(2) != 0) {
      ++out.excluded_in(month).exercise_calls;
      continue;
    }
    const unsigned char* src = q.txt(1);
    int si = src && src[0] == 'c' ? 0 : src && src[0] == 'a' ? 1 : 2;
    if (!counted[si]) {
      ++out.excluded_in(month).uncounted_source_calls;
      continue;
    }
    int from = out.agencies.id(q.txt(3), q.len(3), h_from);
    int to = out.agencies.id(q.txt(4), q.len(4), h_to);
    int cat = q.null(6) ? unclassified : out.categories.id(q.txt(6), q.len(6), h_cat);
    ++out.calls[pack(month, from, to, cat, q.i64(5) != 0 ? flag_emergency : 0)];
  }
}

bool completed_state(const unsigned char* s, int n) {
  auto is = [&](const char* w) {
    return static_cast<std::size_t>(n) == std::strlen(w) && std::memcmp(s, w, n) == 0;
  };
  return s && (is("accepted") || is("declined") || is("closed"));
}

void read_transfers(db& d, const month_range& r, raw_data& out) {
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
        ++out.excluded_in(month).non_live_transfers;
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

std::vector<transfer_count> transfer_rows(const raw_data& raw, const counter_map& m) {
  std::vector<transfer_count> out;
  for (const auto& [k, n] : m.entries()) {
    auto u = unpack(k);
    out.push_back({year_month::from_index(u.month), raw.agencies.name(u.from),
                   raw.agencies.name(u.to), raw.categories.name(u.cat),
                   (u.flags & flag_emergency) != 0, (u.flags & flag_completed) != 0, n});
  }
  return out;
}

savings_counts read_all(db& d, const savings_reads& what) {
  raw_data raw;
  for (const auto& [a, b] : what.call_months)
    read_calls(d, what.count_sources, month_range(a, b), raw);
  if (what.reads_transfers())
    read_transfers(d, month_range(what.transfers_from, what.transfers_to), raw);
  savings_counts out;
  for (const auto& [k, n] : raw.calls.entries()) {
    auto u = unpack(k);
    out.calls.push_back({year_month::from_index(u.month), raw.agencies.name(u.from),
                         raw.agencies.name(u.to), raw.categories.name(u.cat),
                         (u.flags & flag_emergency) != 0, n});
  }
  out.transfers = transfer_rows(raw, raw.transfers);
  out.fell_back = transfer_rows(raw, raw.fell_back);
  for (const auto& [m, e] : raw.excluded) out.excluded.push_back(e);
  return out;
}

// One part of a report, in one read transaction on a connection of its own.
savings_counts read_part(const store_options& o, const savings_reads& what) {
  db ro(o.path, false, true, o.vfs);
  ro.exec("PRAGMA busy_timeout = " + std::to_string(o.busy_timeout_ms));
  // Pages are read into SQLite's own small cache (pread), not through a memory map: each part is
  // a fresh connection, whose mapping would be faulted in page by page, and two threads faulting
  // in one process took twice the CPU of reading (docs/benchmarks.md, "Savings report").
  ro.exec("BEGIN");
  try {
    auto out = read_all(ro, what);
    ro.exec("COMMIT");
    return out;
  } catch (...) {
    ro.exec("ROLLBACK");
    throw;
  }
}

class sqlite_report_store final : public report_store {
 public:
  explicit sqlite_report_store(store_options o) : o_(std::move(o)) {}

  // The months are read in two parts side by side, each on its own connection in its own read
  // transaction (report_store.hpp: each month's figures come from one snapshot). The later part
  // runs on a thread of its own while this one reads the earlier.
  savings_counts read_savings_counts(const savings_reads& what) override {
    return read_parts_side_by_side(
        split_savings_reads(what, 2),
        [&](const savings_reads& part, std::size_t) { return read_part(o_, part); });
  }

 private:
  store_options o_;
};

}  // namespace

std::unique_ptr<report_store> open_sqlite_report_store(const store_options& o) {
  return std::make_unique<sqlite_report_store>(o);
}

}  // namespace bl::store
