#pragma once
// The OASIS EDXL-DE 1.0 distribution envelope in its XML form (namespace
// urn:oasis:names:tc:emergency:EDXL:DE:1.0), as public-alerting producers send CAP in it: an
// EDXLDistribution whose contentObjects each embed an XML document, usually a CAP alert. Every
// content object is carried or refused by its position, with its reason, so one bad alert does not
// lose the others (docs/protocols/cap-edxl.md, "EDXL-DE 1.0 XML"). Stateless, safe on any thread.

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/translate_error.hpp"
#include "adapters/cap/xml_reader.hpp"

namespace bl {
class schema_set;
}

namespace bl::adapters {

inline constexpr std::string_view edxl10_namespace = "urn:oasis:names:tc:emergency:EDXL:DE:1.0";

/// One content object of an envelope (EDXL-DE 1.0 XML, or 2.0 JSON as the French health hub sends
/// it), by its position (1-based): the canonical message it became, or why it was refused.
struct edxl_item {
  std::size_t position = 0;
  std::variant<nlohmann::json, translate_error> result;
};

struct edxl_distribution {
  std::string distribution_id;
  std::string sender_id;
  std::vector<edxl_item> items;  // one per contentObject, in order
};

/// Whether `text` looks like an XML document rather than JSON (its first non-space character).
bool looks_like_xml(std::string_view text);

/// Reads an EDXL-DE 1.0 envelope with the hardened XML reader: the required elements, its
/// senderID checked like a CAP sender (the link's agency is authoritative; partners[].edxl_senders
/// maps it), then each contentObject: an embedded CAP alert is imported (cap_import_element), any
/// other content is refused by position (bl.edxl.content). Each message's source lists the
/// envelope's own fields as not carried. Errors for the whole envelope: bl.xml.*,
/// bl.edxl.not_edxl, bl.edxl.invalid (naming the element), bl.partner.unknown_sender,
/// bl.partner.sender_mismatch.
std::variant<edxl_distribution, translate_error> edxl10_unwrap(std::string_view xml,
                                                               const schema_set& schemas,
                                                               const partner_context& partner,
                                                               const xml_limits& limits = {});

/// Whether a JSON envelope is the flat EDXL-DE 2.0 rendering the French national health hub (Hub
/// Santé) exchanges (distributionID, senderID, descriptor.explicitAddress and content at the top
/// level) rather than Bluelink's own {"EDXLDistribution": ...} (edxl_unwrap()).
bool is_hub_envelope(const nlohmann::json& doc);

/// Reads a Hub Santé EDXL-DE 2.0 JSON envelope (docs/protocols/cap-edxl.md, "EDXL-DE 2.0 as Hub
/// Santé sends it"): every missing required field named at once; its senderID and its
/// explicitAddressValue mapped to agencies through partners[].edxl_senders (the link's agency
/// authoritative for the sender); then each content object by position: a Bluelink message in
/// embeddedJsonContent is carried, a Hub Santé model (createCase, resourcesInfo, ...) is refused
/// naming it. Errors for the whole envelope: bl.edxl.too_large, bl.edxl.malformed_json,
/// bl.edxl.invalid (naming every missing field), bl.edxl.unknown_recipient, bl.partner.*.
std::variant<edxl_distribution, translate_error> hub_unwrap(std::string_view text,
                                                            const schema_set& schemas,
                                                            const partner_context& partner);

}  // namespace bl::adapters
