#include "gateway/core/json_bounded.hpp"

#include <string>

#include <nlohmann/json.hpp>

#include "gateway/core/config.hpp"

namespace bl {

int json_nesting_depth(std::string_view text, int stop_above) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > deepest) {
          deepest = depth;
          if (deepest > stop_above) return deepest;
        }
        break;
      case ']':
      case '}':
        // Unbalanced closers are the parser's to report; never let the depth go negative.
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return deepest;
}

json_limits edge_json_limits(const gateway_config& cfg, std::size_t max_bytes) {
  json_limits l;
  l.max_bytes = max_bytes != 0 ? max_bytes : cfg.max_message_bytes;
  l.max_depth = cfg.edge.max_json_depth;
  return l;
}

std::optional<error> parse_json_bounded(std::string_view text, nlohmann::json& out,
                                        const json_limits& limits, std::string_view what) {
  if (text.size() > limits.max_bytes)
    return make_error(errc::payload_too_large,
                      std::string(what) + " is " + std::to_string(text.size()) +
                          " bytes; at most " + std::to_string(limits.max_bytes) + " are accepted");
  if (json_nesting_depth(text, limits.max_depth) > limits.max_depth)
    return make_error(errc::json_too_deep, std::string(what) +
                                               " nests objects or arrays more than " +
                                               std::to_string(limits.max_depth) + " deep");
  // nlohmann's parser is iterative and its destructor is too, so once the depth is known to be
  // small nothing below recurses deeply.
  auto doc = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded())
    return make_error(errc::malformed_json, std::string(what) + " is not valid JSON");
  out = std::move(doc);
  return std::nullopt;
}

}  // namespace bl
