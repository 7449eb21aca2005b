#pragma once
// The frames an operator console sends on /api/v1/ws (docs/protocols/websocket.md, "Console →
// gateway"), parsed into a typed value without any socket or session state, so that the parser
// can be unit-tested and fuzzed (tests/fuzz/fuzz_console_frame.cpp). ws_session applies them; the
// session alone knows whether a hello was already received. Stateless, safe on any thread
// (schema_set validation is thread-safe).

#include <cstdint>
#include <string_view>
#include <variant>

#include "gateway/core/error.hpp"
#include "gateway/core/json_bounded.hpp"

namespace bl {

class schema_set;

/// One console frame. `after` is for hello only: the id of the newest event the console has
/// shown (0 included), or -1 when hello had no `after` (events from now on).
struct console_frame {
  enum class op { hello, ping };
  op what = op::ping;
  std::int64_t after = -1;
};

/// The frame in `text`, or the error to answer it with: bl.request.too_large, too_deep or
/// malformed_json from the bounded parse (limits: the socket's message size and the configured
/// edge.max_json_depth), or bl.schema.invalid with the JSON pointer from schemas/ws/client.
/// Never throws for any input.
std::variant<console_frame, error> parse_console_frame(std::string_view text,
                                                       const schema_set& schemas,
                                                       const json_limits& limits);

}  // namespace bl
