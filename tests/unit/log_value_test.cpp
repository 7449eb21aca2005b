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

TEST_CASE("a log line's reason keeps the sentence and elides what the sender wrote",
          "[unit][log][personal_data]") {
  CHECK(bl::log_reason("unknown property 'Priya Shah' is not allowed") ==
        "unknown property '\u2026' is not allowed");
  CHECK(bl::log_reason("'07700 900123' does not match '^\\+?[0-9 ()-]{6,20}$'") ==
        "'\u2026' does not match '\u2026'");
  // An apostrophe in a word is not a quote; one inside a quoted name does not end it.
  CHECK(bl::log_reason("the agency's token") == "the agency's token");
  CHECK(bl::log_reason("sender 'O'Brien' is not the link's") ==
        "sender '\u2026' is not the link's");
  CHECK(bl::log_reason("an unclosed 'Priya Shah") == "an unclosed '\u2026");
  CHECK(bl::log_reason("no quotes at all") == "no quotes at all");
}

TEST_CASE("a log line's pointer keeps schema members and indexes, and elides the rest",
          "[unit][log][personal_data]") {
  bl::log_learn_members({"body", "methane", "hazards", "contact", "phone"});
  CHECK(bl::log_pointer("/body/methane/hazards/3") == "/body/methane/hazards/3");
  CHECK(bl::log_pointer("/body/contact/phone") == "/body/contact/phone");
  CHECK(bl::log_pointer("/body/Priya Shah") == "/body/\u2026");
  CHECK(bl::log_pointer("/body/07700900123/phone") == "/body/\u2026/phone");
  CHECK(bl::log_pointer("/body/900123") == "/body/\u2026");  // not an index of a list
  CHECK(bl::log_pointer("/body/0123") == "/body/\u2026");
  CHECK(bl::log_pointer("") == "");
  CHECK(bl::log_pointer("Priya") == "\u2026");
}
