#pragma once
// NENA EIDO (NENA-STA-021, the EIDO JSON schema of the NENA911/EIDO-JSON repository) export and
// import of Bluelink transfers. The sending agency's own incident number (the request's
// sender_incident, the accept's receiver_incident) is the incidentTrackingIdentifier, the agencies
// are agency components, the location is a location component (PIDF-LO point or circle and the
// address text; the OS grid reference in the extension), so a transfer -> EIDO -> transfer round
// trip keeps them all. The mapping is written down in docs/protocols/eido.md. Stateless functions,
// safe on any thread; used by `bluelink translate` and by the EIDO WebSocket conveyance
// (gateway/net).

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/cap/translate_error.hpp"

namespace bl {
class schema_set;
}

namespace bl::adapters {

/// Largest EIDO document accepted (bytes); beyond it: bl.eido.too_large.
inline constexpr std::size_t eido_max_bytes = 1024 * 1024;

/// A canonical Bluelink message (schema-valid) as an EIDO JSON object: transfer.request, update,
/// accept, cancel and close. Other types (received, decline, defer, alert, receipt, error) are
/// replies or gateway notices, not incident state: bl.eido.unsupported_type naming the type.
/// Canonical fields EIDO has no exact member for travel in the extension member
/// "bluelinkCanonical" (JSON pointer -> value), so export -> import gives the message back.
std::variant<nlohmann::json, translate_error> eido_export(const nlohmann::json& message);

/// What the conveying edge knows that the EIDO document may not say. Empty fields are taken from
/// the document itself (sendingSystemIdentifier, agency components, ...).
struct eido_import_context {
  std::string from;             // the authenticated sending agency (overrides the document)
  std::vector<std::string> to;  // the agencies the message is for (overrides the document)
  // "" = take it from the document (a partner's EIDO becomes a transfer.request).
  // "transfer.request": the same, checked against a Bluelink EIDO's own type.
  // "transfer.alert": an awareness-only EIDO (requestAwareness): a partner's EIDO becomes a
  // transfer.request with category "notification" and ask "for_information".
  // Any other canonical type: a Bluelink EIDO must be of that type, and a partner's EIDO (which
  // can only be a request) is refused (bl.eido.bad_value).
  // A Bluelink EIDO whose sendingSystemIdentifier is not `from` is refused (bl.eido.bad_value);
  // `to` replaces a Bluelink request's recipients.
  std::string type;
};

/// An EIDO JSON document as a canonical Bluelink message, validated against the EIDO schema
/// (schemas/eido/) and then the message schemas before it is returned. Errors name the field by
/// its JSON pointer: bl.eido.too_large, bl.request.malformed_json, bl.eido.invalid (the EIDO
/// schema), bl.eido.missing_field, bl.eido.bad_value, bl.eido.not_derivable, bl.schema.invalid.
std::variant<nlohmann::json, translate_error> eido_import(std::string_view json_text,
                                                          const schema_set& schemas,
                                                          const eido_import_context& ctx = {});

}  // namespace bl::adapters
