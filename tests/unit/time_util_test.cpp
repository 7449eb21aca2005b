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
