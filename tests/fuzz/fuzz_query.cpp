// libFuzzer target: arbitrary bytes as the query string of an HTTP request (gateway/net/query:
// parse_query and percent_decode, which every API route reads its parameters with). Decoding
// never makes text longer, text without '%' or '+' decodes to itself, and a query built by
// percent-encoding every byte of some names and values parses back to exactly those names and
// values, the last of a repeated name winning. Crashers are kept under
// tests/fuzz/regressions/fuzz_query/ and replayed by tests/unit/query_test.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "gateway/net/query.hpp"

namespace {

// Every byte as %XX, in upper or lower case (both are hex digits to the decoder).
std::string encode(std::string_view s, bool lower) {
  static constexpr char upper_digits[] = "0123456789ABCDEF";
  static constexpr char lower_digits[] = "0123456789abcdef";
  const char* d = lower ? lower_digits : upper_digits;
  std::string out;
  for (char c : s) {
    auto b = static_cast<unsigned char>(c);
    out += '%';
    out += d[b >> 4];
    out += d[b & 15];
  }
  return out;
}

void check_parse(std::string_view q) {
  std::size_t parts = 1;
  for (char c : q) parts += c == '&';
  auto m = bl::parse_query(q);
  if (m.size() > parts) std::abort();
  std::size_t total = 0;
  for (const auto& [k, v] : m) total += k.size() + v.size();
  if (total > q.size()) std::abort();
}

void check_decode(std::string_view s) {
  auto d = bl::percent_decode(s);
  if (d.size() > s.size()) std::abort();
  if (s.find_first_of("%+") == std::string_view::npos && d != s) std::abort();
}

// The input cut at NUL bytes into name, value, name, value...: encoded, joined, parsed back.
void check_round_trip(std::string_view in) {
  std::map<std::string, std::string> expected;
  std::string query;
  std::string name;
  bool have_name = false;
  std::size_t n = 0;
  for (;;) {
    auto cut = in.find('\0');
    std::string_view piece = in.substr(0, cut);
    if (!have_name) {
      name = std::string(piece);
      have_name = true;
    } else {
      if (!query.empty()) query += '&';
      query += encode(name, n % 2 == 0) + '=' + encode(piece, n % 3 == 0);
      expected[name] = std::string(piece);
      have_name = false;
      ++n;
    }
    if (cut == std::string_view::npos) break;
    in.remove_prefix(cut + 1);
  }
  if (bl::parse_query(query) != expected) std::abort();
  for (const auto& [k, v] : expected)
    if (bl::percent_decode(encode(k, false)) != k) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_parse(text);
  check_decode(text);
  check_round_trip(text);
  return 0;
}
