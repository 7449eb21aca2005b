#include "adapters/cap/json_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <system_error>

namespace bl::adapters::detail {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string number_text(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>());  // shortest exact text
  return std::string(buf, r.ptr);
}

std::optional<double> parse_double(std::string_view s) {
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(d))
    return std::nullopt;
  return d;
}

json as_json_number(double d) {
  if (std::floor(d) == d && std::fabs(d) < 9007199254740992.0)
    return json(static_cast<std::int64_t>(d));
  return json(d);
}

std::string escape_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

}  // namespace bl::adapters::detail
