#include "gateway/service/subject_match.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

namespace bl {

std::string_view to_string(subject_term_kind k) {
  switch (k) {
    case subject_term_kind::name:
      return "name";
    case subject_term_kind::phone:
      return "phone";
    case subject_term_kind::date_of_birth:
      return "date_of_birth";
    case subject_term_kind::text:
      return "text";
  }
  return "text";
}

namespace {

char lower(char c) {
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

/// Part of a word: letters, digits, apostrophes and every byte of a UTF-8 sequence (so that
/// "Siân" and "O'Neill" are one word each).
bool word_char(char c) {
  auto u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '\'' || u >= 0x80;
}

/// The lower-case words of `s`, with where each starts.
std::vector<std::pair<std::string, std::size_t>> words_of(std::string_view s) {
  std::vector<std::pair<std::string, std::size_t>> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && !word_char(s[i])) ++i;
    std::size_t start = i;
    while (i < s.size() && word_char(s[i])) ++i;
    if (i > start) out.emplace_back(lowered(s.substr(start, i - start)), start);
  }
  return out;
}

bool phone_separator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/';
}

/// The digits of `s` with what separates digits within a number left out, '|' where a number
/// ends; "+44" / "0044" (then an optional "(0)") written as "0". `at[i]`: where digit i came from.
std::string digit_runs(std::string_view s, std::vector<std::size_t>* at = nullptr) {
  std::string out;
  auto put = [&](char c, std::size_t from) {
    out.push_back(c);
    if (at) at->push_back(from);
  };
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    bool run_start = out.empty() || out.back() == '|';
    if (run_start && (s.compare(i, 3, "+44") == 0 || s.compare(i, 4, "0044") == 0)) {
      std::size_t j = i + (s[i] == '+' ? 3 : 4);
      while (j < s.size() && s[j] == ' ') ++j;
      if (s.compare(j, 3, "(0)") == 0) j += 3;
      put('0', i);
      i = j;
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      put(c, i);
      ++i;
      continue;
    }
    // A separator between two digits stays inside the number; anything else ends it.
    std::size_t j = i;
    while (j < s.size() && phone_separator(s[j])) ++j;
    bool inside = j > i && j < s.size() && !out.empty() && out.back() != '|' &&
                  std::isdigit(static_cast<unsigned char>(s[j]));
    if (!inside && !out.empty() && out.back() != '|') put('|', i);
    i = std::max(j, i + 1);
  }
  return out;
}

constexpr std::array<const char*, 12> month_names = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december"};

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/// y, m, d from "YYYY-MM-DD" or "DD/MM/YYYY" (or DD-MM-YYYY, DD.MM.YYYY); nullopt otherwise.
std::optional<std::array<int, 3>> parse_date(std::string_view v) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : v) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      cur.push_back(c);
    } else if (c == '-' || c == '/' || c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      return std::nullopt;
    }
  }
  parts.push_back(cur);
  if (parts.size() != 3) return std::nullopt;
  for (const auto& p : parts)
    if (p.empty() || p.size() > 4) return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (parts[0].size() == 4) {
    y = std::stoi(parts[0]);
    m = std::stoi(parts[1]);
    d = std::stoi(parts[2]);
  } else if (parts[2].size() == 4) {
    d = std::stoi(parts[0]);
    m = std::stoi(parts[1]);
    y = std::stoi(parts[2]);
  } else {
    return std::nullopt;
  }
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1850 || y > 2200 || m < 1 || m > 12 || d < 1) return std::nullopt;
  if (d > days[m - 1] + (m == 2 && leap(y) ? 1 : 0)) return std::nullopt;
  return std::array<int, 3>{y, m, d};
}

std::string two(int n) {
  return (n < 10 ? "0" : "") + std::to_string(n);
}

/// Every way `date` is commonly written, lower case.
std::vector<std::string> date_renderings(const std::array<int, 3>& date) {
  const auto [y, m, d] = date;
  const std::string ys = std::to_string(y);
  std::set<std::string> out{ys + "-" + two(m) + "-" + two(d)};
  for (const std::string& dd : {two(d), std::to_string(d)})
    for (const std::string& mm : {two(m), std::to_string(m)})
      for (const char* sep : {"/", "-", "."}) out.insert(dd + sep + mm + sep + ys);
  const std::string month = month_names[static_cast<std::size_t>(m - 1)];
  for (const std::string& dd : {two(d), std::to_string(d)}) {
    out.insert(dd + " " + month + " " + ys);
    out.insert(dd + " " + month.substr(0, 3) + " " + ys);
  }
  return {out.begin(), out.end()};
}

/// Where in `text` the term is found; nullopt when it is not.
std::optional<std::size_t> find_term(std::string_view text, const subject_term& term) {
  switch (term.kind) {
    case subject_term_kind::name: {
      auto words = words_of(text);
      std::optional<std::size_t> first;
      for (const auto& needle : term.needles) {
        auto w = std::find_if(words.begin(), words.end(),
                              [&](const auto& x) { return x.first == needle; });
        if (w == words.end()) return std::nullopt;
        if (!first || w->second < *first) first = w->second;
      }
      return first;
    }
    case subject_term_kind::phone: {
      std::vector<std::size_t> at;
      auto runs = digit_runs(text, &at);
      auto p = runs.find(term.needles.front());
      if (p == std::string::npos) return std::nullopt;
      return at[p];
    }
    case subject_term_kind::date_of_birth:
    case subject_term_kind::text: {
      auto low = lowered(text);
      std::optional<std::size_t> first;
      for (const auto& needle : term.needles) {
        auto p = low.find(needle);
        // A date is not part of a longer number (1/5/1980 is not in 11/5/1980).
        while (p != std::string::npos && term.kind == subject_term_kind::date_of_birth &&
               ((p > 0 && std::isdigit(static_cast<unsigned char>(low[p - 1]))) ||
                (p + needle.size() < low.size() &&
                 std::isdigit(static_cast<unsigned char>(low[p + needle.size()])))))
          p = low.find(needle, p + 1);
        if (p != std::string::npos && (!first || p < *first)) first = p;
      }
      return first;
    }
  }
  return std::nullopt;
}

/// About 160 bytes of `text` around `at`, cut on UTF-8 character boundaries, "…" where cut.
std::string excerpt_of(std::string_view text, std::size_t at) {
  constexpr std::size_t before = 60, width = 160;
  if (text.size() <= width) return std::string(text);
  std::size_t start = at > before ? at - before : 0;
  std::size_t end = std::min(text.size(), start + width);
  auto continuation = [&](std::size_t i) {
    return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
  };
  while (start > 0 && continuation(start)) --start;
  while (end < text.size() && continuation(end)) ++end;
  return (start > 0 ? "…" : "") + std::string(text.substr(start, end - start)) +
         (end < text.size() ? "…" : "");
}

std::string escape_pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

void walk(const nlohmann::json& v, const std::string& pointer,
          const std::vector<subject_term>& terms, std::size_t max_hits,
          std::vector<subject_hit>& out) {
  if (out.size() >= max_hits) return;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    for (const auto& t : terms)
      if (auto at = find_term(s, t)) {
        out.push_back({pointer.empty() ? "/" : pointer, t.kind, excerpt_of(s, *at)});
        return;
      }
  } else if (v.is_object()) {
    for (auto it = v.begin(); it != v.end() && out.size() < max_hits; ++it)
      walk(it.value(), pointer + "/" + escape_pointer_token(it.key()), terms, max_hits, out);
  } else if (v.is_array()) {
    for (std::size_t i = 0; i < v.size() && out.size() < max_hits; ++i)
      walk(v[i], pointer + "/" + std::to_string(i), terms, max_hits, out);
  }
}

}  // namespace

std::variant<subject_term, error> parse_subject_term(std::string_view kind, std::string_view value,
                                                     const std::string& pointer) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::bad_request, "search term " + pointer + ": " + why, pointer);
  };
  if (value.size() > subject_max_term_length)
    return bad("longer than " + std::to_string(subject_max_term_length) + " characters");
  subject_term t;
  t.value = std::string(value);
  if (kind == "name") {
    t.kind = subject_term_kind::name;
    for (auto& w : words_of(value))
      if (w.first.size() >= 2) t.needles.push_back(w.first);
    if (t.needles.empty()) return bad("a name needs a word of two or more letters");
  } else if (kind == "phone") {
    t.kind = subject_term_kind::phone;
    for (char c : value)
      if (!std::isdigit(static_cast<unsigned char>(c)) && !phone_separator(c) && c != '+')
        return bad("a phone number has digits, spaces, dashes, brackets and a leading + only");
    auto runs = digit_runs(value);
    if (!runs.empty() && runs.back() == '|') runs.pop_back();
    if (runs.find('|') != std::string::npos)
      return bad("one phone number, please (digits with spaces, dashes or brackets)");
    if (runs.size() < 6 || runs.size() > 15) return bad("a phone number has 6 to 15 digits");
    t.needles.push_back(runs);
  } else if (kind == "date_of_birth") {
    t.kind = subject_term_kind::date_of_birth;
    auto d = parse_date(value);
    if (!d) return bad("a date of birth is YYYY-MM-DD or DD/MM/YYYY, and a real date");
    t.needles = date_renderings(*d);
  } else if (kind == "text") {
    t.kind = subject_term_kind::text;
    if (value.find_first_not_of(" \t") == std::string_view::npos || value.size() < 3)
      return bad("text to look for has 3 or more characters");
    t.needles.push_back(lowered(value));
  } else {
    return make_error(
        errc::bad_request,
        "search term " + pointer + ": kind must be name, phone, date_of_birth or text", pointer);
  }
  return t;
}

bool subject_matches(std::string_view text, const subject_term& term) {
  return find_term(text, term).has_value();
}

std::vector<subject_hit> subject_hits(const nlohmann::json& doc,
                                      const std::vector<subject_term>& terms,
                                      std::size_t max_hits) {
  std::vector<subject_hit> out;
  walk(doc, "", terms, max_hits, out);
  return out;
}

std::string subject_redact(std::string_view text, const std::vector<std::string>& phrases) {
  std::string out(text);
  for (const auto& phrase : phrases) {
    if (phrase.empty()) continue;
    const std::string needle = lowered(phrase);
    std::string low = lowered(out);
    std::string next;
    std::size_t from = 0;
    for (auto p = low.find(needle); p != std::string::npos; p = low.find(needle, from)) {
      next.append(out, from, p - from);
      next += "[redacted]";
      from = p + needle.size();
    }
    next.append(out, from, std::string::npos);
    out = std::move(next);
  }
  return out;
}

void subject_redact(nlohmann::json& doc, const std::vector<std::string>& phrases) {
  if (doc.is_string()) {
    doc = subject_redact(doc.get_ref<const std::string&>(), phrases);
  } else if (doc.is_structured()) {
    for (auto& v : doc) subject_redact(v, phrases);
  }
}

}  // namespace bl
