#pragma once
// CAP 1.2 (OASIS, urn:oasis:names:tc:emergency:cap:1.2) export and import of Bluelink transfers:
// transfer.request / transfer.update / transfer.cancel <-> <alert> with msgType Alert / Update /
// Cancel. Every canonical field CAP has no exact element for travels as an info <parameter>
// named "bluelink:<JSON pointer>", so bluelink -> CAP -> bluelink loses nothing. A CAP alert from
// a partner without those parameters is mapped to a sensible transfer.request. The mapping is
// written down in docs/protocols/cap-edxl.md. Stateless functions, safe on any thread.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/cap/translate_error.hpp"
#include "adapters/cap/xml_reader.hpp"

namespace bl {
class schema_set;
struct gateway_config;
}  // namespace bl

namespace bl::adapters {

inline constexpr std::string_view cap_namespace = "urn:oasis:names:tc:emergency:cap:1.2";
/// CAP 1.1 differs from 1.2 in details a reader can take in its stride; alerts in it are read.
inline constexpr std::string_view cap11_namespace = "urn:oasis:names:tc:emergency:cap:1.1";

/// The transfer an earlier document of a partner created, found by that document's sender and
/// identifier, so that the partner's Update or Cancel updates or cancels it.
struct referenced_transfer {
  std::string transfer_id;
  std::int64_t next_version = 2;  // the version an update of it must carry
};

/// Who a document comes from and where it goes, as the gateway's partners configuration and the
/// link it arrived on say (docs/protocols/cap-edxl.md, "Partners"). Empty: the document's own
/// sender must be a Bluelink agency id, as in an alert Bluelink itself exported.
struct partner_context {
  /// The agency the link is authenticated as (a token, a CURVE key, `bluelink translate --as`).
  /// It is authoritative: the document's own sender must be one of its identities.
  std::string as_agency;
  /// A partner's own identities (a CAP <sender> such as "cap@ec.gc.ca") -> their agency.
  std::map<std::string, std::string> senders;
  /// A partner's EDXL-DE senderIDs (partners[].edxl_senders) -> their agency.
  std::map<std::string, std::string> edxl_senders;
  /// A partner's NENA EIDO identities (partners[].eido_ids: an agency $id such as
  /// "psap.harlow.example.uk" or an issuingElementIdentification) -> their agency.
  std::map<std::string, std::string> eido_ids;
  /// The recipient when the document names no Bluelink agency (public alerts have no
  /// <addresses>): the partner's configured default_to, or `bluelink translate --for`.
  std::string default_to;
  /// Each partner agency's configured recipient (partners[].default_to), used when default_to
  /// is empty.
  std::map<std::string, std::string> default_to_of;
  /// Finds the transfer that an earlier document (the partner's sender and identifier) created;
  /// unset offline, where every Update or Cancel of a partner's alert is carried as a new
  /// notification that says which alert it concerns.
  std::function<std::optional<referenced_transfer>(const std::string& sender,
                                                   const std::string& identifier)>
      transfer_of;
};

/// The configuration's partners (partners[]) for a document from `as_agency`: each identity's
/// agency and each partner's default recipient. The caller sets default_to and transfer_of.
partner_context partner_context_of(const gateway_config& cfg, std::string as_agency);

/// The id of the message a partner's CAP alert becomes: `agency:identifier`, or a digest of the
/// sender and identifier when the identifier has characters a message id may not. What the
/// gateway looks up to find the transfer an Update or Cancel follows (partner_context::
/// transfer_of).
std::string partner_message_id(const std::string& agency, const std::string& sender,
                               const std::string& identifier);

/// A canonical transfer.request, transfer.update or transfer.cancel (already schema-valid) as a
/// CAP 1.2 alert document. Other message types: bl.cap.unsupported_type.
std::variant<std::string, translate_error> cap_export(const nlohmann::json& message);

/// A CAP 1.2 (or 1.1) alert as a canonical message, validated against the message schemas before
/// it is returned. The XML is read with read_xml() (hardened, `limits`). An alert Bluelink
/// exported (its "bluelink:" parameters) comes back as the message it was; a partner's alert
/// becomes a notification carrying every area, its priority from urgency, severity and
/// certainty, its text as written with markup stripped, and `source` naming the document and
/// listing what the message does not carry. Errors: bl.xml.* from the reader;
/// bl.cap.missing_element, bl.cap.bad_value, bl.cap.not_derivable, bl.cap.bad_parameter;
/// bl.partner.unknown_sender, bl.partner.sender_mismatch; bl.schema.invalid (with the JSON
/// pointer) when the result fails the message schemas.
std::variant<nlohmann::json, translate_error> cap_import(std::string_view xml,
                                                         const schema_set& schemas,
                                                         const partner_context& partner,
                                                         const xml_limits& limits = {});
/// The same for an <alert> element already read (an EDXL-DE 1.0 envelope's embedded content).
std::variant<nlohmann::json, translate_error> cap_import_element(const xml_element& alert,
                                                                 const schema_set& schemas,
                                                                 const partner_context& partner);
/// The same with no partner context.
std::variant<nlohmann::json, translate_error> cap_import(std::string_view xml,
                                                         const schema_set& schemas,
                                                         const xml_limits& limits = {});

/// Checks a canonical message: the envelope and body schemas, then what a schema cannot (the id
/// prefix, real dates). nullopt when it is valid.
std::optional<translate_error> check_message(const nlohmann::json& message,
                                             const schema_set& schemas);

}  // namespace bl::adapters
