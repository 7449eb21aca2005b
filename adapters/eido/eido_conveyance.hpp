#pragma once
// The frames of the EIDO conveyance over WebSocket (NENA-STA-024 style, subprotocol
// emergency-ent1.0; docs/protocols/eido.md), parsed into typed messages without any session
// state, so that the parser can be unit-tested and fuzzed (tests/fuzz/fuzz_eido_frame.cpp).
// gateway/net/eido_session applies them. Stateless functions, safe on any thread.
//
// A frame is a JSON object with exactly one member named after its type. Every refusal names the
// response the sender gets (subscribeResponse, requestForServiceResponse, errorResponse, ...),
// the correlation members known so far (requestId or transactionId) and an error with the JSON
// pointer of the offending member.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/error.hpp"
#include "gateway/core/json_bounded.hpp"

namespace bl::adapters::conveyance {

/// Longest requestId, subscriptionId, transactionId or incidentId accepted.
inline constexpr std::size_t max_id = 128;

struct subscribe {
  std::string request_id;
  std::string request_type;              // "eido" or "" (absent)
  std::string subscription_id;           // set: a renewal of that subscription
  std::string sub_type;                  // "new" or "single" (a new subscription only)
  std::string incident_id;               // the transfer id of a "single" subscription
  std::optional<std::int64_t> expires;   // seconds asked for
  std::optional<std::int64_t> min_rate;  // seconds between events asked for
};

struct unsubscribe {
  std::string request_id;
  std::string subscription_id;
};

struct event_response {
  std::string transaction_id;
  std::int64_t status_code = 200;
};

/// requestForService, requestAwareness or cancelRequest.
struct request {
  std::string kind;  // the frame's type
  std::string request_id;
  // A cancelRequest by Bluelink transfer id, with no EIDO:
  bool by_incident = false;
  std::string incident_id;
  std::string reason;
  // Otherwise the EIDO object, and the agencies it is for when the frame names them:
  nlohmann::json eido;
  // The EIDO exactly as the frame carried it (its bytes within the frame): the document kept
  // as received, with the message it becomes.
  std::string eido_text;
  std::vector<std::string> to;
};

struct terminate_response {};

using frame = std::variant<subscribe, unsubscribe, event_response, request, terminate_response>;

struct frame_error {
  std::string reply;           // the response type the sender gets
  nlohmann::json correlation;  // {"requestId": ...} or {"transactionId": ...} when known
  error err;
};

/// One text frame as a typed message, or why it is refused. The frame is parsed within `limits`
/// (gateway/core/json_bounded.hpp) before anything is copied out of it: a frame larger than
/// `limits.max_bytes` (bl.request.too_large) or nesting deeper than `limits.max_depth`
/// (bl.request.too_deep), the EIDO it carries included, is refused without walking it.
std::variant<frame, frame_error> parse_frame(std::string_view text, const json_limits& limits = {});

/// A Bluelink transfer id: T-YYYYMMDD-NNNNNN.
bool is_transfer_id(std::string_view s);

}  // namespace bl::adapters::conveyance
