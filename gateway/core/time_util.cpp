#include "gateway/core/time_util.hpp"

#include <cstdio>
#include <ctime>

namespace bl {

namespace {
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

bool valid_date(int y, int m, int d) {
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > month_days[m - 1]) return false;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

namespace {
// 01:00 UTC on the last Sunday of the month, in seconds since the epoch.
std::int64_t last_sunday_0100_utc(int y, int m) {
  std::int64_t last = days_from_civil(y, m, 31);  // March and October both have 31 days
  // 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on Sundays.
  std::int64_t weekday = ((last + 4) % 7 + 7) % 7;
  return (last - weekday) * 86400 + 3600;
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
}  // namespace

int uk_offset_minutes(time_point utc) {
  std::int64_t secs = floor_div(to_ms(utc), 1000);
  int y, m, d;
  civil_from_days(floor_div(secs, 86400), y, m, d);
  return secs >= last_sunday_0100_utc(y, 3) && secs < last_sunday_0100_utc(y, 10) ? 60 : 0;
}

std::optional<time_point> uk_local_to_utc(int y, int mo, int d, int h, int mi, int s) {
  if (!valid_date(y, mo, d) || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
    return std::nullopt;
  std::int64_t wall = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  // Read as BST first; keep it if BST was in force at that instant, else it is GMT.
  std::int64_t as_bst = wall - 3600;
  if (uk_offset_minutes(from_ms(as_bst * 1000)) == 60) return from_ms(as_bst * 1000);
  return from_ms(wall * 1000);
}

year_month uk_month_of(time_point utc) {
  std::int64_t local_ms = to_ms(utc) + std::int64_t{uk_offset_minutes(utc)} * 60000;
  int y, m, d;
  civil_from_days(floor_div(local_ms, 86400000), y, m, d);
  return {y, m};
}

time_point uk_month_start(year_month m) {
  return *uk_local_to_utc(m.year, m.month, 1, 0, 0, 0);
}

int financial_year_of(year_month m, int first_month) {
  return m.month >= first_month ? m.year : m.year - 1;
}

std::string financial_year_label(int start_year) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d/%02d", start_year, (start_year + 1) % 100);
  return buf;
}

std::string year_month::str() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", year, month);
  return buf;
}

std::optional<year_month> year_month::parse(std::string_view text) {
  int y, m;
  if (text.size() != 7 || !digits(text, 0, 4, y) || text[4] != '-' || !digits(text, 5, 2, m) ||
      m < 1 || m > 12)
    return std::nullopt;
  return year_month{y, m};
}

std::optional<time_point> parse_rfc3339(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || s[10] != 'T' || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se))
    return std::nullopt;
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] || h > 23 || mi > 59 || se > 59)
    return std::nullopt;
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo == 2 && d == 29 && !leap) return std::nullopt;
  std::size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    std::size_t start = pos;
    int scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start || pos - start > 9) return std::nullopt;
  }
  int offset_min = 0;
  if (pos < s.size() && s[pos] == 'Z') {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se -
                      static_cast<std::int64_t>(offset_min) * 60;
  return from_ms(secs * 1000 + millis);
}

std::string format_rfc3339(time_point t) {
  std::int64_t ms = to_ms(t);
  std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int rem = static_cast<int>(ms - secs * 1000);
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, rem);
  return buf;
}

}  // namespace bl
