#pragma once
// Parsing JSON that arrives from outside. Every edge (HTTP bodies, both WebSockets, CAD link
// frames, UCRI2 payloads, EIDO documents, files) parses through here so that size and nesting
// are bounded *before* any copy, dump or validation walks the document recursively: a
// 300,000-deep array is refused by a linear scan, not by a stack overflow.

#include <cstddef>
#include <optional>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "gateway/core/error.hpp"

namespace bl {

struct gateway_config;

/// Limits on one JSON document. The defaults suit every message, frame and API body Bluelink
/// defines (the deepest schema nests 9 levels); config's `limits` section may change them.
struct json_limits {
  std::size_t max_bytes = std::size_t{1} << 20;
  int max_depth = 32;
};

/// The nesting depth of `text` (objects and arrays; strings and escapes are skipped), scanning
/// no further than `stop_above`: returns as soon as the depth passes it. Linear, no recursion.
int json_nesting_depth(std::string_view text, int stop_above);

/// The limits for JSON arriving at one of the gateway's edges: `max_bytes` (the transport's own
/// limit; by default max_message_bytes, the HTTP body limit) and the configured
/// edge.max_json_depth.
json_limits edge_json_limits(const gateway_config& cfg, std::size_t max_bytes = 0);

/// Parses `text` into `out` unless it is larger than `limits.max_bytes`
/// (bl.request.too_large), nests deeper than `limits.max_depth` (bl.request.too_deep) or is
/// not JSON (bl.request.malformed_json). On error `out` is left unchanged. `what` names the
/// input in the error message ("the request body", "the frame").
std::optional<error> parse_json_bounded(std::string_view text, nlohmann::json& out,
                                        const json_limits& limits = {},
                                        std::string_view what = "the message");

}  // namespace bl
