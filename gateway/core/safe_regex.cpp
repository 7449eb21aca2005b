#include "gateway/core/safe_regex.hpp"

#include <stdexcept>

namespace bl {

namespace {
constexpr auto safe_flags = std::regex::ECMAScript | std::regex_constants::__polynomial;
}  // namespace

bool has_back_reference(std::string_view pattern) {
  for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
    if (pattern[i] != '\\') continue;
    char next = pattern[i + 1];
    // \0 is the NUL character, not a reference; \1..\9 (and more digits) and \k<name> are. Inside
    // a character class ECMAScript reads \1 differently, but refusing it there too costs nothing.
    if ((next >= '1' && next <= '9') || next == 'k') return true;
    ++i;  // the escaped character is taken literally: "\\\\1" is a backslash and a 1
  }
  return false;
}

std::regex make_safe_regex(std::string_view pattern) {
  if (has_back_reference(pattern))
    throw std::invalid_argument("the pattern '" + std::string(pattern) +
                                "' uses a back-reference, which cannot be matched in linear time");
  return std::regex(pattern.begin(), pattern.end(), safe_flags);
}

bool is_safe_regex(const std::regex& re) {
  return (re.flags() & std::regex_constants::__polynomial) == std::regex_constants::__polynomial;
}

}  // namespace bl
