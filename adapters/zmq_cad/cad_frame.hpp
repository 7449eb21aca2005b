#pragma once
// The frames a CAD sends on the ZeroMQ CAD link (docs/protocols/cad-link.md section 3), parsed
// into typed values without any session or socket state, so that the parser can be unit-tested
// and fuzzed (tests/fuzz/fuzz_cad_frame.cpp). cad_link_server applies them. Stateless, safe on
// any thread (schema_set validation is thread-safe).
//
// A frame is refused when it is larger than 1 MiB, nests deeper than the configured limit
// (checked by a linear scan before anything parses, copies or validates it recursively), is not
// JSON, is not one object, fails cadlink/frame or cadlink/<op>, or is one the gateway sends.
// What the message inside a submit says (its sender, its envelope and body) is checked by the
// server, which knows the session; this parser only checks that it is an object.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/core/error.hpp"

namespace bl {
class schema_set;
}

namespace bl::cad {

/// The largest frame accepted (the ROUTER's maxmsgsize leaves room above it for framing).
inline constexpr std::size_t max_frame_bytes = std::size_t{1} << 20;

struct hello_frame {
  std::string agency;  // the agency the CAD claims; the server compares it with the key's
  std::int64_t resume_from = 0;
  std::string client;  // empty when absent
  std::optional<int> window;
};

struct submit_frame {
  nlohmann::json message;  // an object; not yet validated against the message schemas
  std::string message_id;  // message.id when it is a string, else empty
};

struct ack_frame {
  std::int64_t upto = 0;
};

struct heartbeat_frame {};

struct goodbye_frame {
  std::string reason;  // empty when absent
};

using cad_frame =
    std::variant<hello_frame, submit_frame, ack_frame, heartbeat_frame, goodbye_frame>;

/// Why a frame is refused: the error for the error frame, and what was read before the refusal.
struct frame_refusal {
  error err;
  std::string op;          // the frame's op when it was a known one, else empty
  std::string message_id;  // a submit's message.id when readable, so the CAD can match the error
};

struct frame_limits {
  std::size_t max_bytes = max_frame_bytes;
  int max_depth = 32;  // gateway_config::edge.max_json_depth
};

/// One CAD-to-gateway frame as a typed value, or why it is refused (never throws for any input).
std::variant<cad_frame, frame_refusal> parse_cad_frame(std::string_view raw,
                                                       const schema_set& schemas,
                                                       const frame_limits& limits = {});

/// The op name of a parsed frame ("hello", "submit", ...), for logs and metrics.
std::string_view op_name(const cad_frame& f);

}  // namespace bl::cad
