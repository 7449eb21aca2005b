#include <catch2/catch.hpp>

#include "gateway/core/log_value.hpp"

using namespace bl;

TEST_CASE("a logged value cannot end the line or close its quotes", "[unit][log]") {
  std::string forged =
      "x\"\nts=2026-01-01T00:00:00Z level=info event=login username=\"admin\" role=admin";
  auto q = log_quote(forged);
  CHECK(q.find('\n') == std::string::npos);
  CHECK(q.front() == '"');
  CHECK(q.back() == '"');
  // Every quote inside is escaped, so the value is one logfmt token.
  for (std::size_t i = 1; i + 1 < q.size(); ++i)
    if (q[i] == '"') CHECK(q[i - 1] == '\\');
  CHECK(q ==
        "\"x\\\"\\nts=2026-01-01T00:00:00Z level=info event=login username=\\\"admin\\\" "
        "role=admin\"");
}

TEST_CASE("backslashes, carriage returns and other control bytes are escaped", "[unit][log]") {
  CHECK(log_escape("a\\b") == "a\\\\b");
  CHECK(log_escape("a\rb\tc") == "a\\rb\\tc");
  CHECK(log_escape(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(log_escape("\x1b[31m") == "\\x1b[31m");
  CHECK(log_escape("\x7f") == "\\x7f");
}

TEST_CASE("UTF-8 names pass through unchanged", "[unit][log]") {
  CHECK(log_escape("Gwasanaeth Tân ac Achub") == "Gwasanaeth Tân ac Achub");
  CHECK(log_quote("Łódź") == "\"Łódź\"");
}
