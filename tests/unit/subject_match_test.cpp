// Subject access matching (gateway/service/subject_match): what a data-protection officer's terms
// for one person find in stored documents, and what they do not.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "gateway/service/subject_match.hpp"

using namespace bl;

namespace {

subject_term term(const char* kind, const char* value) {
  auto t = parse_subject_term(kind, value, "/terms/0");
  if (auto* e = std::get_if<error>(&t)) FAIL(e->message);
  return std::get<subject_term>(t);
}

std::string refusal(const char* kind, const char* value) {
  auto t = parse_subject_term(kind, value, "/terms/0");
  auto* e = std::get_if<error>(&t);
  return e ? e->message : "accepted";
}

}  // namespace

TEST_CASE("a name is found by its words, in any order and case, and only as whole words",
          "[subject]") {
  auto jane = term("name", "Jane Doe");
  CHECK(subject_matches("Caller Jane Doe reports RTC", jane));
  CHECK(subject_matches("DOE, Jane (driver)", jane));
  CHECK(subject_matches("jane   doe", jane));
  CHECK_FALSE(subject_matches("Janet Doel", jane));
  CHECK(subject_matches("Jane Smith and John Doe", jane));  // both words in one text: a hit
  CHECK_FALSE(subject_matches("Jane only", jane));
  CHECK(subject_matches("Siân O'Neill", term("name", "siân o'neill")));
  // An initial alone is not looked for; a name of initials only is refused.
  CHECK(subject_matches("Doe reported it", term("name", "J Doe")));
  CHECK_THAT(refusal("name", "J K"), Catch::Contains("two or more letters"));
}

TEST_CASE("a phone number is found however it is written", "[subject]") {
  auto n = term("phone", "07700 900123");
  CHECK(subject_matches("Call back on 07700900123", n));
  CHECK(subject_matches("tel +44 (0)7700-900123 (mobile)", n));
  CHECK(subject_matches("+44 7700 900 123", n));
  CHECK(subject_matches("0044 7700 900123", n));
  CHECK(subject_matches("(07700) 900.123", n));
  CHECK_FALSE(subject_matches("07700 900124", n));
  CHECK_FALSE(subject_matches("07700 and 900123", n));
  CHECK(subject_matches("07700900123", term("phone", "+44 7700 900123")));
  CHECK_THAT(refusal("phone", "12345"), Catch::Contains("6 to 15 digits"));
  CHECK_THAT(refusal("phone", "0770x 900123"), Catch::Contains("digits, spaces"));
  CHECK_THAT(refusal("phone", "07700 900123  +44 1245 000000"),
             Catch::Contains("one phone number"));
}

TEST_CASE("a date of birth is found in the ways dates are written, and only that date",
          "[subject]") {
  auto dob = term("date_of_birth", "17/05/1980");
  for (const char* written : {"DOB 1980-05-17", "born 17/05/1980", "17/5/1980", "17.05.1980",
                              "17-5-1980", "17 May 1980", "17 may 1980"}) {
    INFO(written);
    CHECK(subject_matches(written, dob));
  }
  CHECK(subject_matches("dob 17/05/1980", term("date_of_birth", "1980-05-17")));
  CHECK_FALSE(subject_matches("17/05/1981", dob));
  CHECK_FALSE(subject_matches("117/05/1980", dob));
  CHECK_FALSE(subject_matches("7/5/1980", term("date_of_birth", "1980-05-17")));
  CHECK_THAT(refusal("date_of_birth", "31/02/1980"), Catch::Contains("a real date"));
  CHECK_THAT(refusal("date_of_birth", "17 May 1980"), Catch::Contains("YYYY-MM-DD"));
}

TEST_CASE("text is a case-insensitive substring of three or more characters", "[subject]") {
  CHECK(subject_matches("Outside 1 High Street, Chelmsford", term("text", "high street")));
  CHECK_THAT(refusal("text", "ab"), Catch::Contains("3 or more"));
  CHECK_THAT(refusal("postcode", "CM2"), Catch::Contains("kind must be"));
  CHECK_THAT(refusal("text", std::string(201, 'a').c_str()), Catch::Contains("longer than 200"));
}

TEST_CASE("hits name the field of a document and show the words around the match", "[subject]") {
  nlohmann::json doc = {{"body",
                         {{"summary", std::string(300, 'x') + " caller Jane Doe on 07700 900123 " +
                                          std::string(300, 'y')},
                          {"contact", {{"name", "Kim Hall"}, {"phone", "01632 960001"}}},
                          {"casualties", {{{"name", "DOE, Jane"}}, {{"name", "John Roe"}}}},
                          {"a/b", "Jane Doe"}}}};
  auto hits = subject_hits(doc, {term("name", "Jane Doe"), term("phone", "07700900123")});
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].pointer == "/body/a~1b");
  CHECK(hits[1].pointer == "/body/casualties/0/name");
  CHECK(hits[2].pointer == "/body/summary");
  CHECK(hits[2].kind == subject_term_kind::name);
  CHECK_THAT(hits[2].excerpt, Catch::Contains("caller Jane Doe on 07700 900123"));
  CHECK(hits[2].excerpt.size() < 200);
  CHECK(hits[2].excerpt.rfind("…", 0) == 0);
  CHECK(subject_hits(doc, {term("name", "Jane Doe")}, 1).size() == 1);
}

TEST_CASE("redaction replaces every occurrence of each phrase, whatever its case", "[subject]") {
  CHECK(subject_redact("John Roe saw JOHN ROE's car", {"john roe"}) ==
        "[redacted] saw [redacted]'s car");
  nlohmann::json doc = {{"a", "Call Kim Hall on 01632 960001"}, {"b", {"kim hall"}}, {"n", 3}};
  subject_redact(doc, {"Kim Hall", "01632 960001"});
  CHECK(doc["a"] == "Call [redacted] on [redacted]");
  CHECK(doc["b"][0] == "[redacted]");
  CHECK(doc["n"] == 3);
}
