#pragma once
// Small helpers the translating adapters (CAP, EIDO) share for reading canonical JSON and writing
// its values as text: a string member or "", trimmed text, the exact text of a number and back,
// and JSON pointer token escaping. Stateless, safe on any thread.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace bl::adapters::detail {

/// The string member `key` of `j`, or "" when `j` is not an object or the member is absent or
/// not a string.
std::string str(const nlohmann::json& j, const char* key);
/// `s` without leading and trailing spaces, tabs and line ends.
std::string trim(std::string_view s);
/// The shortest text that reads back as exactly this JSON number.
std::string number_text(const nlohmann::json& v);
/// A finite double written in full by `s`, or nullopt.
std::optional<double> parse_double(std::string_view s);
/// `d` as a JSON integer when it is one (within 2^53), else as a JSON double: 25.0 -> 25.
nlohmann::json as_json_number(double d);
/// `key` escaped as one JSON pointer token (RFC 6901: ~ -> ~0, / -> ~1).
std::string escape_token(const std::string& key);

}  // namespace bl::adapters::detail
