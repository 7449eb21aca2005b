#pragma once
// The EDXL-DE 2.0 (OASIS) distribution envelope in a JSON rendering: an EDXLDistribution object
// with distributionID, senderID, dateTimeSent, dateTimeExpires, distributionStatus,
// distributionKind, explicitAddress (scheme "bluelink") and one contentObject carrying either
// the canonical message (jsonContent) or a CAP alert (xmlContent.embeddedXMLContent). The
// envelope's schema is schemas/edxl/edxl_distribution.schema.json; the mapping is in
// docs/protocols/cap-edxl.md. Stateless functions, safe on any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/cap/translate_error.hpp"

namespace bl {
class schema_set;
}

namespace bl::adapters {

/// The name of the envelope's schema in schema_set.
inline constexpr const char* edxl_schema = "edxl/edxl_distribution";
/// Largest envelope edxl_unwrap() reads.
inline constexpr std::size_t edxl_max_bytes = 1024 * 1024;

/// Wraps a canonical message (already schema-valid) as jsonContent.
nlohmann::json edxl_wrap(const nlohmann::json& message);
/// Wraps a CAP alert as xmlContent; `message` is the alert imported as a canonical message,
/// which supplies the envelope's fields.
nlohmann::json edxl_wrap_cap(std::string_view cap_xml, const nlohmann::json& message);

/// What an envelope carried: always the canonical message; the CAP document too when the
/// content was xmlContent.
struct edxl_content {
  nlohmann::json message;
  std::string cap_xml;
};

/// Reads an envelope's JSON text within the envelope bounds (1 MiB, the edge's nesting limit) into
/// `doc`: bl.edxl.too_large, bl.edxl.malformed_json, or the bound's own error. Both JSON forms
/// (Bluelink's and the health hub's) are read through it.
std::optional<translate_error> read_envelope_json(std::string_view text, nlohmann::json& doc);

/// Reads an envelope (JSON text): size limit, parse, the envelope schema, exactly one content
/// object, the message inside (validated; a CAP alert is imported), and the envelope agreeing
/// with it (sender, status, addresses). Errors: bl.edxl.too_large, bl.edxl.malformed_json,
/// bl.edxl.invalid (with the JSON pointer), bl.edxl.content, bl.edxl.mismatch, and the errors of
/// the message or CAP alert inside.
std::variant<edxl_content, translate_error> edxl_unwrap(std::string_view text,
                                                        const schema_set& schemas);

}  // namespace bl::adapters
