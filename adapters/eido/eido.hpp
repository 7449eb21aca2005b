#pragma once
// NENA EIDO 1.0 (NENA-STA-021.1a, the JSON schema of NENA911/EIDO-JSON Schema/openapi.yaml at
// commit 7aa4ff0c, transcribed in schemas/eido/nena_eido_1_0.schema.json) export and import of
// Bluelink transfers. An EIDO is the state of one incident: its top-level $id is the incident
// tracking identifier (urn:emergency:uid:incidentid:<transfer id>:bluelink once the gateway has
// numbered the transfer), every component carries the NENA prologue ($id, lastUpdateTimeStamp,
// updatedByAgencyReference), the agencies are agency components, the sending agency's own
// incident number is internalIncidentId, the location a location component (PIDF-LO point or
// circle and the address text). Canonical fields EIDO has no member for travel in Bluelink's
// extension member, so a transfer -> EIDO -> transfer round trip keeps them all. The mapping is
// written down in docs/protocols/eido.md. Stateless functions, safe on any thread; used by
// `bluelink translate` and by the EIDO WebSocket conveyance (gateway/net).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/translate_error.hpp"

namespace bl {
class schema_set;
}

namespace bl::adapters {

/// Largest EIDO document accepted (bytes); beyond it: bl.eido.too_large.
inline constexpr std::size_t eido_max_bytes = 1024 * 1024;

/// What Bluelink's EIDOs name as their issuing element (issuingElementIdentification) and as
/// the domain of the incident tracking identifiers it assigns.
inline constexpr std::string_view eido_issuing_element = "bluelink";

/// The media type of an EIDO document (as NENA-STA-024's EIDO retrieval service serves it).
inline constexpr std::string_view eido_media_type = "application/emergency.eido+json";

/// The UUID of a component Bluelink writes about message `message_id` in the role `role`
/// ("incident", "location", ...): derived from both (RFC 9562 version 8 from SHA-256), so the
/// same message gives the same component ids each time.
std::string eido_component_uuid(const std::string& message_id, const std::string& role);

/// A canonical Bluelink message (schema-valid) as a NENA EIDO 1.0 JSON object that validates
/// against NENA's schema: transfer.request, update, accept, decline, defer, received, cancel,
/// close, alert and receipt. `error` (a refusal answered to its sender, never a delivery) is
/// refused with bl.eido.unsupported_type naming the type. Canonical fields EIDO has no exact
/// member for travel in the extension member "bluelinkCanonical" (JSON pointer -> value), so
/// export -> import gives the message back.
std::variant<nlohmann::json, translate_error> eido_export(const nlohmann::json& message);

/// The transfer an earlier state of a partner's incident made, as the gateway finds it by the
/// incident's $id: the EIDO that made it was sent at `first_state` (its lastUpdateTimeStamp).
struct eido_earlier_state {
  std::string transfer_id;
  std::int64_t next_version = 2;  // the version an update of it must carry
  std::string first_state;
};

/// What the conveying edge knows that the EIDO document may not say.
struct eido_import_context {
  std::string from;             // the authenticated sending agency (overrides the document)
  std::vector<std::string> to;  // the agencies the message is for (overrides the document)
  // "" = take it from the document (a partner's EIDO becomes a transfer.request).
  // "transfer.request": the same, checked against a Bluelink EIDO's own type.
  // "transfer.alert": an awareness-only EIDO (requestAwareness): a partner's EIDO becomes a
  // transfer.request with category "notification" and ask "for_information".
  // Any other canonical type: a Bluelink EIDO must be of that type, and a partner's EIDO (which
  // can only be a request) is refused (bl.eido.bad_value).
  // A Bluelink EIDO updated by another agency than `from` is refused (bl.eido.bad_value); `to`
  // replaces a Bluelink request's recipients.
  std::string type;
  // The configuration's partners: a partner's EIDO identities (its agency $id,
  // issuingElementIdentification) -> its agency, and its default recipient. Null: an identity
  // must be a Bluelink agency id itself.
  const partner_context* partner = nullptr;
  // Finds the transfer that the first state of a partner's incident (its $id, from `from`)
  // made, so that a later state updates it; unset (offline), every partner EIDO is a request.
  std::function<std::optional<eido_earlier_state>(const std::string& incident_id)> transfer_of;
};

/// An EIDO JSON document as a canonical Bluelink message. The document must validate against
/// NENA's EIDO 1.0 schema (schemas/eido/nena_eido_1_0.schema.json) and Bluelink's bounds on it
/// (schemas/eido/eido.schema.json); the result is checked against the message schemas before it
/// is returned. A partner's EIDO (without Bluelink's extension) becomes a transfer.request that
/// carries the caller and callback number, every location it can read, and a `source` naming
/// the document with what the message does not carry. Errors name the field by its JSON
/// pointer: bl.eido.too_large, bl.request.malformed_json, bl.eido.invalid (either schema),
/// bl.eido.missing_field, bl.eido.bad_value, bl.eido.not_derivable, bl.partner.unknown_sender,
/// bl.partner.sender_mismatch, bl.schema.invalid.
std::variant<nlohmann::json, translate_error> eido_import(std::string_view json_text,
                                                          const schema_set& schemas,
                                                          const eido_import_context& ctx = {});

/// The id of the message a partner's EIDO becomes. An EIDO is one state of one incident: the
/// first state makes the transfer.request `agency:<incident $id>`; a later one the
/// transfer.update `agency:<incident $id>:<lastUpdateTimeStamp>` (`last_update` empty: the
/// request's id). So the same state sent again is the same message, and a later state another.
/// A digest of them ("eido-<32 hex>") when that does not fit a message id.
std::string eido_message_id(const std::string& agency, const std::string& incident_id,
                            const std::string& last_update = {});

/// The transfer_of lookup of an edge that holds a store: the transfer that `agency`'s request
/// for the incident made (`transfer_of_message` of the request's id), and the state of the EIDO
/// that made it (the kept original's lastUpdateTimeStamp, read by `original_state`).
std::optional<eido_earlier_state> eido_earlier_state_of(
    const std::string& agency, const std::string& incident_id,
    const std::function<std::optional<std::pair<std::string, std::int64_t>>(const std::string&)>&
        transfer_of_message,
    const std::function<std::optional<std::string>(const std::string&)>& original_body);

}  // namespace bl::adapters
