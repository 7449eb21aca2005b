#pragma once
// Subject access (issue 18, docs/data-protection.md): how a data-protection officer's search
// terms for one person are matched against what Bluelink holds. Pure functions, no store: the
// search (subject_access) walks an agency's transfers and calls and asks these whether each
// stored document or note mentions the person, and where.
//
// A term is one of:
//  - name: every word of it of two or more characters appears as a whole word, in any order and
//    case, in one text ("Jane Doe" finds "DOE, Jane" and "jane doe", not "Janet Doel"; an initial
//    alone is not looked for);
//  - phone: its digits (6 to 15; a leading +44 or 0044, with or without "(0)", read as 0) appear
//    among the digits of a number written with spaces, dashes, dots or brackets between them
//    ("07700 900123" finds "+44 (0)7700-900123" and "07700900123");
//  - date_of_birth: a date given as YYYY-MM-DD or DD/MM/YYYY (or with - or . between), found
//    written in any of those ways, with or without leading zeros, or as "17 May 1980" (the
//    month in full or in three letters);
//  - text: a case-insensitive substring of 3 or more characters (a street, a vehicle, a word).
//
// Bounds (hostile input): at most max_terms terms of at most max_term_length characters each;
// a document is walked to at most max_matches matches.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/error.hpp"

namespace bl {

enum class subject_term_kind { name, phone, date_of_birth, text };
std::string_view to_string(subject_term_kind k);

/// One term, as parsed: `value` as given, `needles` what is looked for (lower-case words, the
/// national digits, or the date's renderings).
struct subject_term {
  subject_term_kind kind = subject_term_kind::text;
  std::string value;
  std::vector<std::string> needles;
};

inline constexpr std::size_t subject_max_terms = 10;
inline constexpr std::size_t subject_max_term_length = 200;
inline constexpr std::size_t subject_max_matches = 50;

/// One term from its kind's name and value; bl.request.bad_parameter naming `pointer` (and what
/// is wrong) when the kind is unknown or the value cannot be one of its kind.
std::variant<subject_term, error> parse_subject_term(std::string_view kind, std::string_view value,
                                                     const std::string& pointer);

/// Whether `text` mentions the person as `term` describes.
bool subject_matches(std::string_view text, const subject_term& term);

/// Where a document mentions the person: the JSON pointer of each string value that matches a
/// term, the term's kind, and the value cut to about 160 characters around the match.
struct subject_hit {
  std::string pointer;
  subject_term_kind kind = subject_term_kind::text;
  std::string excerpt;
};
std::vector<subject_hit> subject_hits(const nlohmann::json& doc,
                                      const std::vector<subject_term>& terms,
                                      std::size_t max_hits = subject_max_matches);

/// `text` with every case-insensitive occurrence of each of `phrases` (third parties' names,
/// numbers, addresses, as the officer lists them) replaced by "[redacted]".
std::string subject_redact(std::string_view text, const std::vector<std::string>& phrases);
/// The same through every string value of `doc`.
void subject_redact(nlohmann::json& doc, const std::vector<std::string>& phrases);

}  // namespace bl
