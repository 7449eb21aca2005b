#pragma once
// RFC 3339 timestamps on the wire; std::chrono inside. All stored times are UTC milliseconds.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bl {

using sys_clock = std::chrono::system_clock;
using time_point = std::chrono::time_point<sys_clock, std::chrono::milliseconds>;

/// Parses "2026-11-21T14:02:11Z", "…T14:02:11.250Z" or "…T15:02:11+01:00"; nullopt if not RFC 3339.
std::optional<time_point> parse_rfc3339(std::string_view text);
/// Formats as UTC with milliseconds: "2026-11-21T14:02:11.250Z".
std::string format_rfc3339(time_point t);

inline std::int64_t to_ms(time_point t) {
  return t.time_since_epoch().count();
}
inline time_point from_ms(std::int64_t ms) {
  return time_point{std::chrono::milliseconds{ms}};
}
inline time_point now_ms() {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(sys_clock::now());
}

/// Days since 1970-01-01 for a proleptic Gregorian date, and back.
std::int64_t days_from_civil(int y, int m, int d);
void civil_from_days(std::int64_t days, int& y, int& m, int& d);
/// Whether y-m-d is a real date (2026-02-29 is not).
bool valid_date(int y, int m, int d);

// UK civil time, as control rooms and finance teams count months: GMT, and BST (UTC+1) from
// 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October (the rule in
// force since 1996; earlier dates are treated the same way).

/// A calendar month, e.g. 2026-04.
struct year_month {
  int year = 1970;
  int month = 1;  // 1..12
  int index() const { return year * 12 + (month - 1); }
  static year_month from_index(int i) { return {i / 12, i % 12 + 1}; }
  year_month plus(int months) const { return from_index(index() + months); }
  std::string str() const;  // "2026-04"
  /// Parses "2026-04"; nullopt otherwise.
  static std::optional<year_month> parse(std::string_view text);
  friend bool operator==(year_month a, year_month b) { return a.index() == b.index(); }
  friend bool operator!=(year_month a, year_month b) { return a.index() != b.index(); }
  friend bool operator<(year_month a, year_month b) { return a.index() < b.index(); }
  friend bool operator<=(year_month a, year_month b) { return a.index() <= b.index(); }
};

/// UK local time's offset from UTC at a UTC instant: 0 or 60 minutes.
int uk_offset_minutes(time_point utc);
/// The UTC instant of a UK wall-clock time. A time in the spring-forward gap (01:00-01:59 on the
/// last Sunday of March) is read as GMT; an hour that happens twice in autumn is read as BST,
/// the first of the two. nullopt when the fields are not a real date and time.
std::optional<time_point> uk_local_to_utc(int y, int mo, int d, int h, int mi, int s);
/// The UK calendar month a UTC instant falls in.
year_month uk_month_of(time_point utc);
/// The UTC instant of UK midnight at the start of month m.
time_point uk_month_start(year_month m);
/// The financial year a month belongs to, named by the year it starts in: with April as the first
/// month, 2026-04 .. 2027-03 is financial year 2026 ("2026/27").
int financial_year_of(year_month m, int first_month = 4);
std::string financial_year_label(int start_year);  // 2026 -> "2026/27"

/// The engine's source of time; tests substitute a manual clock to drive timers.
class clock_source {
 public:
  virtual ~clock_source() = default;
  virtual time_point now() const = 0;
};

class system_clock_source final : public clock_source {
 public:
  time_point now() const override { return now_ms(); }
};

}  // namespace bl
