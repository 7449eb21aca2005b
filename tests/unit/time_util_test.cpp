#include <catch2/catch.hpp>

#include "gateway/core/time_util.hpp"

using namespace bl;

TEST_CASE("RFC 3339 times parse with zones and fractions and format back as UTC", "[unit][time]") {
  auto a = parse_rfc3339("2026-11-21T14:02:11Z");
  auto b = parse_rfc3339("2026-11-21T15:02:11.250+01:00");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(to_ms(*b) - to_ms(*a) == 250);
  CHECK(format_rfc3339(*b) == "2026-11-21T14:02:11.250Z");
  CHECK(format_rfc3339(from_ms(0)) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("malformed times are refused", "[unit][time]") {
  for (const char* s : {"", "2026-11-21", "2026-11-21 14:02:11Z", "2026-13-01T00:00:00Z",
                        "2026-11-21T14:02:11", "2026-11-21T14:02:11Zjunk", "2026-11-21T14:02:11.Z",
                        "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-11-21t14:02:11z"})
    CHECK_FALSE(parse_rfc3339(s));
}

TEST_CASE("UK months follow GMT and BST, switching at 01:00 UTC on the last Sundays",
          "[unit][time]") {
  // 2026: BST from Sunday 29 March 01:00 UTC to Sunday 25 October 01:00 UTC.
  CHECK(uk_offset_minutes(*parse_rfc3339("2026-03-29T00:59:59Z")) == 0);
  CHECK(uk_offset_minutes(*parse_rfc3339("2026-03-29T01:00:00Z")) == 60);
  CHECK(uk_offset_minutes(*parse_rfc3339("2026-10-25T00:59:59Z")) == 60);
  CHECK(uk_offset_minutes(*parse_rfc3339("2026-10-25T01:00:00Z")) == 0);
  // 23:30 UTC on 31 March is 00:30 BST on 1 April: an April call.
  CHECK(uk_month_of(*parse_rfc3339("2026-03-31T23:30:00Z")).str() == "2026-04");
  // 23:30 UTC on 31 December is still December (GMT).
  CHECK(uk_month_of(*parse_rfc3339("2026-12-31T23:30:00Z")).str() == "2026-12");
  CHECK(format_rfc3339(uk_month_start({2026, 4})) == "2026-03-31T23:00:00.000Z");
  CHECK(format_rfc3339(uk_month_start({2026, 1})) == "2026-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(*uk_local_to_utc(2026, 7, 1, 12, 0, 0)) == "2026-07-01T11:00:00.000Z");
  // The spring gap is read as GMT; the repeated autumn hour as BST (the first of the two).
  CHECK(format_rfc3339(*uk_local_to_utc(2026, 3, 29, 1, 30, 0)) == "2026-03-29T01:30:00.000Z");
  CHECK(format_rfc3339(*uk_local_to_utc(2026, 10, 25, 1, 30, 0)) == "2026-10-25T00:30:00.000Z");
  CHECK_FALSE(uk_local_to_utc(2026, 2, 29, 0, 0, 0));
}

TEST_CASE("financial years start in April and months parse strictly", "[unit][time]") {
  CHECK(financial_year_of({2026, 4}) == 2026);
  CHECK(financial_year_of({2027, 3}) == 2026);
  CHECK(financial_year_label(2026) == "2026/27");
  CHECK(financial_year_label(1999) == "1999/00");
  CHECK(year_month::parse("2026-04")->plus(-4).str() == "2025-12");
  CHECK_FALSE(year_month::parse("2026-13"));
  CHECK_FALSE(year_month::parse("2026-4"));
  int y, m, d;
  civil_from_days(days_from_civil(2028, 2, 29), y, m, d);
  CHECK((y == 2028 && m == 2 && d == 29));
}
