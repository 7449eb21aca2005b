#pragma once
// Stable error codes used by every edge (HTTP, CAD link, WebSocket) and written down in
// docs/error-codes.md. The ids never change once published: operators grep for them and
// integrators branch on them.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bl {

enum class errc {
  malformed_json,
  schema_invalid,
  payload_too_large,
  bad_request,
  not_found,
  method_not_allowed,
  missing_token,
  invalid_token,
  sender_not_authorised,
  not_a_party,
  unknown_agency,
  self_addressed,
  bad_message_id,
  message_id_reused,
  not_submittable,
  transfer_not_found,
  stale_version,
  illegal_transition,
  not_sender,
  not_pending,
  no_fallback,
  hold_exists,
  hold_not_found,
  hold_purged,
  expired,
  store_busy,
  store_full,
  store_unavailable,
  store_conflict,
  store_corrupt,
  shutting_down,
  degraded,
  busy,
  internal,
  link_no_session,
  link_bad_frame,
  link_overloaded,
  login_failed,
  session_expired,
  csrf_failed,
  rate_limited,
  forbidden_role,
  bad_origin,
  account_disabled,
  // Hostile-input limits (issue 12): nesting depth, per-agency rates and quotas, connections.
  json_too_deep,
  too_many_connections,
  rate_submissions,
  rate_inbox_full,
  link_routing_id,
  link_agency_mismatch,
  // EIDO conveyance over WebSocket (gateway/net/eido_session, docs/protocols/eido.md).
  eido_subprotocol,
  eido_bad_message,
  eido_unknown_message,
  eido_unknown_transaction,
  eido_unknown_subscription,
  eido_already_subscribed,
  // The UCRI2 Client API (gateway/net/api_ucri2.cpp, docs/protocols/ucri2.md).
  ucri2_malformed_json,
  ucri2_invalid_request,
  ucri2_unknown_app,
  ucri2_unknown_app_version,
  ucri2_unknown_schema,
  ucri2_invalid_payload,
  ucri2_payload_not_json,
  ucri2_encrypted_payload,
  ucri2_forbidden_app,
  ucri2_not_mappable,
  ucri2_unknown_destination,
  ucri2_unknown_participant,
  ucri2_unauthorized,
  ucri2_oid_forbidden,
  ucri2_not_found,
  ucri2_internal,
};

/// One row of the error table: the stable wire id, the HTTP status, the WebSocket close code
/// and the text an operator sees.
struct error_info {
  errc code;
  std::string_view id;
  int http_status;
  int ws_close;
  std::string_view operator_text;
};

const error_info& info(errc code);
std::optional<errc> errc_from_id(std::string_view id);
const std::vector<error_info>& all_errors();

/// A rejection: which code, a message specific to this input, and the JSON pointer of the
/// offending value when there is one.
struct error {
  errc code = errc::internal;
  std::string message;
  std::string pointer;

  std::string_view id() const { return info(code).id; }
  int http_status() const { return info(code).http_status; }
};

inline error make_error(errc code, std::string message, std::string pointer = {}) {
  return error{code, std::move(message), std::move(pointer)};
}

}  // namespace bl
