#pragma once
// Query-string helpers shared by the API's handlers.

#include <map>
#include <string>
#include <string_view>

namespace bl {

/// Decodes %XX escapes and '+' (a space in a query string); a malformed escape is kept as is.
std::string percent_decode(std::string_view s);
/// "a=1&b=x%20y" -> {a: "1", b: "x y"}; a key without '=' maps to "".
std::map<std::string, std::string> parse_query(std::string_view q);

}  // namespace bl
