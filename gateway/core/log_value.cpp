#include "gateway/core/log_value.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <set>

namespace bl {

std::string log_escape(std::string_view v) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string log_quote(std::string_view v) {
  return "\"" + log_escape(v) + "\"";
}

namespace {

std::mutex& members_mutex() {
  static std::mutex m;
  return m;
}

std::set<std::string, std::less<>>& members() {
  static std::set<std::string, std::less<>> s;
  return s;
}

}  // namespace

void log_learn_members(const std::vector<std::string>& names) {
  std::lock_guard lock(members_mutex());
  members().insert(names.begin(), names.end());
}

std::string log_reason(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  bool quoted = false;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    // An apostrophe inside a word ("agency's") is not a quote.
    const bool letter_before = i > 0 && std::isalnum(static_cast<unsigned char>(message[i - 1]));
    const bool letter_after =
        i + 1 < message.size() && std::isalnum(static_cast<unsigned char>(message[i + 1]));
    // Opening: not inside a word; closing: not followed by a letter ('O'Brien' stays quoted).
    if (c == '\'' && (quoted ? !letter_after : !(letter_before && letter_after))) {
      if (quoted) out += "\u2026";
      out += c;
      quoted = !quoted;
      continue;
    }
    if (!quoted) out += c;
  }
  if (quoted) out += "\u2026";  // an unclosed quote: the rest was the sender's
  return out;
}

std::string log_pointer(std::string_view pointer) {
  std::string out;
  std::size_t i = 0;
  while (i < pointer.size()) {
    if (pointer[i] != '/') return "\u2026";  // not a JSON pointer: nothing of it is kept
    std::size_t j = pointer.find('/', i + 1);
    if (j == std::string_view::npos) j = pointer.size();
    const std::string_view token = pointer.substr(i + 1, j - i - 1);
    // An index of the lists Bluelink reads (none holds 10,000 items): a longer run of digits,
    // or one with a leading zero, may be part of a telephone number.
    const bool index =
        !token.empty() && token.size() <= 4 && (token == "0" || token[0] != '0') &&
        std::all_of(token.begin(), token.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    bool known = index;
    if (!known) {
      std::lock_guard lock(members_mutex());
      known = members().count(token) > 0;
    }
    out += '/';
    out += known ? std::string(token) : std::string("\u2026");
    i = j;
  }
  return out;
}

}  // namespace bl
