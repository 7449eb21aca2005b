#include "gateway/core/error.hpp"

#include <algorithm>

namespace bl {

namespace {
// The single source of truth for codes; docs/error-codes.md is checked against it by a test.
const std::vector<error_info> table = {
    {errc::malformed_json, "bl.request.malformed_json", 400, 4400,
     "The message is not valid JSON."},
    {errc::schema_invalid, "bl.schema.invalid", 422, 4422,
     "The message does not match its schema; the pointer names the field."},
    {errc::payload_too_large, "bl.request.too_large", 413, 1009,
     "The message is larger than the gateway accepts."},
    {errc::bad_request, "bl.request.bad_parameter", 400, 4400,
     "A query parameter or header is missing or has a bad value."},
    {errc::not_found, "bl.request.not_found", 404, 4404, "There is no such endpoint."},
    {errc::method_not_allowed, "bl.request.method_not_allowed", 405, 4405,
     "That method is not allowed on this endpoint."},
    {errc::missing_token, "bl.auth.missing_token", 401, 4401,
     "No credentials were given; send a bearer token."},
    {errc::invalid_token, "bl.auth.invalid_token", 401, 4401,
     "The credentials were not recognised."},
    {errc::sender_not_authorised, "bl.auth.sender_mismatch", 403, 4403,
     "An agency may only send as itself."},
    {errc::not_a_party, "bl.auth.not_a_party", 403, 4403,
     "Your agency is not a party to this transfer."},
    {errc::unknown_agency, "bl.route.unknown_agency", 422, 4422,
     "The sender or recipient agency is not configured on this gateway."},
    {errc::self_addressed, "bl.route.self_addressed", 422, 4422,
     "A transfer must be addressed to another agency."},
    {errc::bad_message_id, "bl.message.bad_id", 422, 4422,
     "The message id must start with the sender's agency id and a colon."},
    {errc::message_id_reused, "bl.message.id_reused", 409, 4409,
     "This message id was already used for different content. The first message stands; send "
     "the new content under a new id."},
    {errc::not_submittable, "bl.message.not_submittable", 422, 4422,
     "Only the gateway may send this type of message."},
    {errc::transfer_not_found, "bl.transfer.not_found", 404, 4404, "There is no such transfer."},
    {errc::stale_version, "bl.transfer.stale_version", 409, 4409,
     "The transfer has changed since the version you sent; fetch it and try again."},
    {errc::illegal_transition, "bl.transfer.illegal_transition", 409, 4409,
     "That action is not possible in the transfer's current state."},
    {errc::not_sender, "bl.transfer.not_sender", 403, 4403,
     "Only the agency that sent this transfer may redirect it."},
    {errc::not_pending, "bl.transfer.not_pending", 409, 4409,
     "The transfer has already been answered or has ended; it can no longer be redirected."},
    {errc::no_fallback, "bl.transfer.no_fallback", 409, 4409,
     "The receiving agency has no fallback control room configured; phone them."},
    {errc::hold_exists, "bl.hold.exists", 409, 4409,
     "A legal hold already stands on this transfer; it stays until it is lifted."},
    {errc::hold_not_found, "bl.hold.not_found", 404, 4404,
     "No legal hold stands on this transfer."},
    {errc::hold_purged, "bl.hold.purged", 409, 4409,
     "This transfer was purged at the end of its retention period; there is nothing left to "
     "hold."},
    {errc::expired, "bl.transfer.expired", 410, 4410,
     "The transfer expired before it was delivered; phone the other control room."},
    {errc::store_busy, "bl.store.busy", 503, 1013,
     "The gateway's store is busy; nothing was accepted; retry with the same message id."},
    {errc::store_full, "bl.store.disk_full", 503, 1013,
     "The gateway's disk is full; nothing was accepted; phone the other control room."},
    {errc::store_unavailable, "bl.store.unavailable", 503, 1013,
     "The gateway could not store the message; nothing was accepted; retry with the same id."},
    {errc::store_conflict, "bl.store.conflict", 503, 1013,
     "Another gateway node changed the same data at the same moment; nothing was accepted; retry "
     "with the same message id."},
    {errc::store_corrupt, "bl.store.corrupt", 503, 1013,
     "The gateway's store is damaged or not a Bluelink store; nothing was accepted; phone the "
     "other control room."},
    {errc::shutting_down, "bl.gateway.shutting_down", 503, 1001,
     "The gateway is shutting down; retry shortly with the same message id."},
    {errc::degraded, "bl.gateway.degraded", 503, 1011,
     "Part of the gateway has failed and it is restarting; nothing was accepted; phone the "
     "other control room, or retry shortly with the same message id."},
    {errc::busy, "bl.gateway.busy", 503, 1013,
     "The gateway is busy with other sign-ins and reports; try again in a few seconds."},
    {errc::internal, "bl.gateway.internal", 500, 1011,
     "An internal error occurred; the message was not accepted."},
    {errc::link_no_session, "bl.link.no_session", 400, 4400,
     "Say hello first: no CAD link session is open on this connection."},
    {errc::link_bad_frame, "bl.link.bad_frame", 400, 4400,
     "The CAD link frame is not one JSON object with \"v\": 1."},
    {errc::link_overloaded, "bl.link.overloaded", 503, 1013,
     "The gateway's queue for this CAD link is full; slow down and retry with the same id."},
    {errc::login_failed, "bl.auth.login_failed", 401, 4401, "The username or password is wrong."},
    {errc::session_expired, "bl.auth.session_expired", 401, 4401,
     "Your session has ended; sign in again."},
    {errc::csrf_failed, "bl.auth.csrf", 403, 4403,
     "The request did not carry this session's anti-forgery token; reload the console."},
    {errc::rate_limited, "bl.auth.rate_limited", 429, 4429,
     "Too many sign-in attempts; wait a few seconds and try again."},
    {errc::forbidden_role, "bl.auth.forbidden_role", 403, 4403, "Your role does not allow this."},
    {errc::bad_origin, "bl.auth.bad_origin", 403, 4403,
     "The request came from a page the gateway does not serve."},
    {errc::account_disabled, "bl.auth.account_disabled", 403, 4403,
     "This account is disabled; ask a supervisor or administrator."},
    {errc::json_too_deep, "bl.request.too_deep", 400, 1009,
     "The message nests objects or arrays deeper than the gateway accepts."},
    {errc::too_many_connections, "bl.request.too_many_connections", 503, 1013,
     "The gateway has too many connections open; retry shortly."},
    {errc::rate_submissions, "bl.rate.submissions", 429, 4429,
     "Your agency is sending faster than the gateway allows; slow down and retry with the same "
     "message id."},
    {errc::rate_inbox_full, "bl.rate.inbox_full", 429, 4429,
     "The receiving agency already has too many undelivered messages from yours; phone them."},
    {errc::link_routing_id, "bl.link.routing_id", 400, 4400,
     "The CAD chose its own ZeroMQ routing id; leave ZMQ_ROUTING_ID unset and reconnect."},
    {errc::link_agency_mismatch, "bl.link.agency_mismatch", 403, 4403,
     "This frame's CURVE key belongs to another agency than the session on this connection."},
    // EIDO conveyance over WebSocket (gateway/net/eido_session, docs/protocols/eido.md).
    {errc::eido_subprotocol, "bl.eido.subprotocol", 426, 4400,
     "EIDO conveyance needs a WebSocket upgrade offering the subprotocol emergency-ent1.0."},
    {errc::eido_bad_message, "bl.eido.bad_message", 400, 4400,
     "The EIDO conveyance message is missing a field or has a wrong value; see the pointer."},
    {errc::eido_unknown_message, "bl.eido.unknown_message", 400, 4400,
     "The EIDO conveyance message type is not one this gateway serves."},
    {errc::eido_unknown_transaction, "bl.eido.unknown_transaction", 404, 4404,
     "No unacknowledged event with that transactionId was sent on this connection."},
    {errc::eido_unknown_subscription, "bl.eido.unknown_subscription", 404, 4404,
     "No active subscription with that subscriptionId on this connection; subscribe again."},
    {errc::eido_already_subscribed, "bl.eido.already_subscribed", 409, 4409,
     "This connection already has a subscription; renew it or unsubscribe first."},
    // The UCRI2 Client API (gateway/net/api_ucri2.cpp, docs/protocols/ucri2.md).
    {errc::ucri2_malformed_json, "bl.ucri2.malformed_json", 400, 4400,
     "The UCRI2 request body is not valid JSON."},
    {errc::ucri2_invalid_request, "bl.ucri2.invalid_request", 400, 4400,
     "The UCRI2 request breaks the client transport schema; see the pointer."},
    {errc::ucri2_unknown_app, "bl.ucri2.unknown_app", 400, 4400,
     "The UCRI2 appId is not one the gateway translates."},
    {errc::ucri2_unknown_app_version, "bl.ucri2.unknown_app_version", 400, 4400,
     "The UCRI2 appVersion is not one the gateway translates."},
    {errc::ucri2_unknown_schema, "bl.ucri2.unknown_schema", 400, 4400,
     "The UCRI2 schemaId is not a message of that app."},
    {errc::ucri2_invalid_payload, "bl.ucri2.invalid_payload", 400, 4400,
     "The UCRI2 payload breaks its app schema; see the pointer."},
    {errc::ucri2_payload_not_json, "bl.ucri2.payload_not_json", 400, 4400,
     "The UCRI2 payload data is not valid JSON."},
    {errc::ucri2_encrypted_payload, "bl.ucri2.encrypted_payload", 400, 4400,
     "The gateway cannot translate an encrypted (application/jose) UCRI2 payload."},
    {errc::ucri2_forbidden_app, "bl.ucri2.forbidden_app", 400, 4400,
     "transport_layer_messages are sent by the gateway only."},
    {errc::ucri2_not_mappable, "bl.ucri2.not_mappable", 400, 4400,
     "The UCRI2 message cannot be mapped to a Bluelink transfer; see the pointer."},
    {errc::ucri2_unknown_destination, "bl.ucri2.unknown_destination", 400, 4400,
     "The UCRI2 destination is not a known participant."},
    {errc::ucri2_unknown_participant, "bl.ucri2.unknown_participant", 404, 4404,
     "No UCRI2 participant has that OID."},
    {errc::ucri2_unauthorized, "bl.ucri2.unauthorized", 401, 4401,
     "The UCRI2 token is missing, invalid or expired; fetch a new one from /ucri2/token."},
    {errc::ucri2_oid_forbidden, "bl.ucri2.oid_forbidden", 400, 4400,
     "The UCRI2 token does not speak for that OID."},
    {errc::ucri2_not_found, "bl.ucri2.not_found", 404, 4404,
     "There is no UCRI2 endpoint at this path."},
    {errc::ucri2_internal, "bl.ucri2.internal", 500, 1011,
     "The UCRI2 request could not be completed inside the gateway."},
};
}  // namespace

const std::vector<error_info>& all_errors() {
  return table;
}

const error_info& info(errc code) {
  auto it = std::find_if(table.begin(), table.end(), [&](auto& e) { return e.code == code; });
  return it != table.end() ? *it : table.back();
}

std::optional<errc> errc_from_id(std::string_view id) {
  for (auto& e : table)
    if (e.id == id) return e.code;
  return std::nullopt;
}

}  // namespace bl
