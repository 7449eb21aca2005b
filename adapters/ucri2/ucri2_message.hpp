#pragma once
// The UCRI2 Client API's messages (PMeV-EFUL/ucri2: an envelope with an app payload) and their
// mapping to and from Bluelink's canonical message. Written down in docs/protocols/ucri2.md.
//
// Inbound (a UCRI2 client sends): parse_send_request() checks the transport envelope and the app
// payload against schemas/ucri2/, to_canonical() turns it into a canonical message (incident ->
// transfer.request, acknowledgement -> transfer.accept / transfer.decline, completion ->
// transfer.close, notification_text -> a transfer.request of category notification).
// Outbound (a UCRI2 client receives): from_canonical() turns a delivered canonical message into
// a UCRI2 message (receiverResponseItem), or says it is not for the client (a receipt it did not
// ask for). Stateless functions, safe on any thread; lookups into the store come in as callbacks.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/time_util.hpp"

namespace bl {
class schema_set;
struct gateway_config;
}  // namespace bl

namespace bl::adapters::ucri2 {

/// The UCRI2 error codes (api/crm/2.0.0/ucriErrorCodes.json).
enum class wire_code : int {
  invalid_request = 460,      // REQUEST_INVALID_PER_CLIENT_TRANSPORT_SPEC
  unknown_app = 461,          // REQUEST_PAYLOAD_UNKNOWN_APPID
  unknown_app_version = 462,  // REQUEST_PAYLOAD_UNKNOWN_APPVERSION
  unknown_schema = 463,       // REQUEST_PAYLOAD_UNKNOWN_SCHEMAID
  invalid_payload = 464,      // REQUEST_PAYLOAD_INVALID_PER_APP_SPEC
  payload_not_json = 465,     // REQUEST_PAYLOAD_INVALID_JSON
  unsupported_app = 466,  // REQUEST_PAYLOAD_UNSUPPORTED_APPID_OR_APPVERSION (by the destination)
  forbidden_app = 467,    // REQUEST_PAYLOAD_FORBIDDEN_APPID
  unsupported_message = 468,  // REQUEST_PAYLOAD_UNSUPPORTED_MESSAGE (by the destination)
  unknown_destination = 470,  // REQUEST_UNKNOWN_DESTINATION_ID
  // A commit beyond the last message: REQUEST_NO_MESSAGES_TO_COMMIT, the code the UCRI2
  // project's reference test client expects (reference-implementations/shared-js), though
  // api/crm/2.0.0/ucriErrorCodes.json does not list it.
  no_messages_to_commit = 471,
  unauthorized = 475,   // REQUEST_UNAUTHORIZED
  oid_forbidden = 478,  // REQUEST_OID_FORBIDDEN
  internal = 491,       // REQUEST_INTERNAL_ERROR
};

/// A refusal in the spec's terms (numeric code, HTTP status) carrying our stable bl.* id and the
/// JSON pointer of the offending value in the request.
struct ucri2_error {
  wire_code code = wire_code::internal;
  std::string bl_code;  // e.g. "bl.ucri2.invalid_payload"
  std::string message;  // specific to this input
  std::string pointer;  // e.g. "/payload/data/missionLocation/coordinate/lat"

  int http_status() const;
  /// The spec's error object {code, reason, message} plus "blCode" and "pointer".
  nlohmann::json to_json() const;
};

ucri2_error make_ucri2_error(wire_code code, std::string bl_code, std::string message,
                             std::string pointer = {});

/// The fixed text of each code (the spec's "reason").
std::string_view reason_of(wire_code code);

/// The app payload of an envelope, its data parsed.
struct app_message {
  std::string app_id;
  std::string app_version;
  std::string schema_id;
  nlohmann::json data;
};

/// An app a participant supports, and the messages of it that it does not (the registry's
/// appRef).
struct participant_app {
  std::string app_id;
  std::string app_version;
  std::vector<std::string> unsupported_messages;
};

/// One communication participant: a Bluelink agency under its UCRI2 address (OID).
struct participant {
  std::string oid;
  std::string agency;
  std::string name;
  std::string kind;     // fire, police, ambulance, other
  bool client = false;  // speaks the UCRI2 client API (receives UCRI2 messages)
  /// From ucri2.participants[].supported_apps; empty: every app Bluelink translates.
  std::vector<participant_app> apps;
  /// What it supports, as the registry lists it: `apps`, or every supported app in full.
  std::vector<participant_app> supported() const;
  /// Whether it can receive this app message: nullopt, or 466 / 468 naming what it lacks.
  std::optional<ucri2_error> refuses(const app_message& m) const;
};

struct directory {
  std::string ucrm_oid;  // the gateway's own OID: the source of message_delivery_status
  std::vector<participant> participants;
  const participant* by_oid(std::string_view oid) const;
  const participant* by_agency(std::string_view agency) const;
};

/// The directory a gateway config describes (its `ucri2` section and agencies).
directory make_directory(const gateway_config& cfg);

enum class ack_mode { none, nack, all };
std::string_view to_string(ack_mode a);

/// A checked POST /messaging/send body.
struct send_request {
  std::string message_id;  // the client's UUID (generated by the caller when it sent none)
  bool message_id_given = false;
  std::optional<time_point> sent_date;
  int timeout_s = 3600;
  ack_mode ack = ack_mode::none;
  std::string source;
  std::string destination;
  std::string description;
  app_message payload;
  bool has_signature = false;     // a JWS signature came with it (not checked by a UCRM)
  std::vector<std::string> tags;  // as sent (the first 50)
  // As sent, until check_send_payload() has read them into payload.data.
  std::string content_type;
  std::string data_text;
};

/// Apps and versions Bluelink translates (the same for every participant, since it translates).
struct app_support {
  std::string app_id;
  std::string app_version;
  std::vector<std::string> schemas;
};
const std::vector<app_support>& supported_apps();

/// Parses and checks a send request: JSON (460), the transport schema (460 with pointer), the
/// app and version (461, 462), the schema id (463), transport_layer_messages (467), the payload
/// data as JSON (465) and against schemas/ucri2/<app>/<version>/<schema> (464 with pointer
/// under /payload/data). An absent messageId is left empty for the caller to generate. The body
/// and the JSON inside payload.data are each parsed within `limits` (size and nesting, before
/// anything walks them): too large or too deep is 460 on the body, 465 on the data, with the
/// bl.request.too_large / bl.request.too_deep id.
std::variant<send_request, ucri2_error> parse_send_request(std::string_view body,
                                                           const schema_set& schemas,
                                                           const json_limits& limits = {});

/// The two halves of parse_send_request(), for the UCRM's check order (client_api.md: the
/// transport envelope, then whether the caller may send as `source` and knows the destination,
/// and only then the app message). parse_send_envelope(): JSON and the transport schema (460),
/// sentDate and timeout; the payload's ids are read, its data left as text.
std::variant<send_request, ucri2_error> parse_send_envelope(std::string_view body,
                                                            const schema_set& schemas,
                                                            const json_limits& limits = {});
/// check_send_payload(): the app, version and schema id (461, 462, 463, 467), the data as JSON
/// (465) and against its schema (464), into r.payload.data.
std::optional<ucri2_error> check_send_payload(send_request& r, const schema_set& schemas,
                                              const json_limits& limits = {});

/// `v` as an integer when it is one (not a float, not a string) within [lo, hi], else nullopt.
/// Unsigned values above INT64_MAX are out of range rather than wrapped: every numeric field
/// of a UCRI2 request is converted through this, even when its schema already bounds it.
std::optional<std::int64_t> integer_in(const nlohmann::json& v, std::int64_t lo, std::int64_t hi);

/// What the store knows of a transfer, for the mapping.
struct transfer_facts {
  std::string transfer_id;
  std::string requester;
  std::string responder;
  std::string requester_number;  // the requester's incident number (empty when none)
};

struct inbound_context {
  const participant* from = nullptr;
  const participant* to = nullptr;
  time_point now{};
  /// The transfer a sharedIncidentId names, between these two agencies; nullopt when unknown.
  std::function<std::optional<transfer_facts>(const std::string& shared_incident_id)> find;
};

/// The canonical message id for a UCRI2 send: "<agency>:<messageId>", plus "~NACK" or "~ALL"
/// when a delivery status was asked for (the ack mode travels with the stored message).
std::string canonical_id(const std::string& agency, const std::string& message_id, ack_mode ack);
/// The UCRI2 messageId and ack mode carried by a canonical id (a non-UUID id gets a stable
/// UUID derived from it, and ack NONE).
std::pair<std::string, ack_mode> split_canonical_id(const std::string& id);

/// The sharedIncidentId a UCRI2 participant knows a transfer by: the requester's incident number
/// when it is a UUID (the transfer began as a UCRI2 incident), else a UUID derived from the
/// transfer id ("T-20261121-000123" -> "20261121-b1e1-4000-8000-b1e100000123").
std::string shared_incident_id(const transfer_facts& t);
/// The transfer id a derived sharedIncidentId stands for (nullopt for any other UUID).
std::optional<std::string> transfer_id_from_shared(std::string_view shared_incident_id);

/// A UCRI2 send as a canonical message (not yet schema-checked: the caller runs
/// adapters::check_message()). Errors name the field under /payload/data.
std::variant<nlohmann::json, ucri2_error> to_canonical(const send_request& req,
                                                       const inbound_context& ctx);

struct outbound_context {
  const directory* dir = nullptr;
  std::string recipient;  // the agency whose inbox this is
  /// What the store knows of a transfer (nullopt when it cannot be read).
  std::function<std::optional<transfer_facts>(const std::string& transfer_id)> transfer;
};

/// A delivered canonical message (valid, as the store holds it: check_message() passes) as a
/// UCRI2 receiverResponseItem (without sequenceId and destination, which the caller adds), or
/// nullopt when it is not for a UCRI2 client: a receipt or expiry of a message sent with ack NONE,
/// a delivered-receipt of a message sent with NACK.
std::optional<nlohmann::json> from_canonical(const nlohmann::json& msg,
                                             const outbound_context& ctx);

/// Same standard in and out: `item` (from_canonical's, for a message a UCRI2 client sent) with
/// the sender's send request `sent_as` (its body as received, the original kept with the
/// message) put back: the payload exactly as sent (appId, appVersion, schemaId, contentType and
/// the data string byte for byte), sentDate, timeout, ack, description, tags and signature. The
/// messageId and source are the sender's already; destination and sequenceId are the caller's.
/// What the send did not have keeps the gateway's value (a description naming the Bluelink
/// transfer, the only place UCRI2 has for it). nullopt when `sent_as` is not a send request.
std::optional<nlohmann::json> relay_as_sent(const nlohmann::json& item, std::string_view sent_as);

/// Signs and checks the JSON Web Tokens of GET /token (HS256).
std::string make_jwt(const std::string& key, const nlohmann::json& claims);
/// The claims of a token signed with `key` that has not expired at `now_s`; nullopt otherwise.
std::optional<nlohmann::json> check_jwt(const std::string& key, std::string_view token,
                                        std::int64_t now_s);

/// Decodes an HTTP Basic credential ("Basic base64(id:secret)"); nullopt when malformed.
std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view header);

}  // namespace bl::adapters::ucri2
