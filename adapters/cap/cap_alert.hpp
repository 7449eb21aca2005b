#pragma once
// CAP 1.2 (OASIS, urn:oasis:names:tc:emergency:cap:1.2) export and import of Bluelink transfers:
// transfer.request / transfer.update / transfer.cancel <-> <alert> with msgType Alert / Update /
// Cancel. Every canonical field CAP has no exact element for travels as an info <parameter>
// named "bluelink:<JSON pointer>", so bluelink -> CAP -> bluelink loses nothing. A CAP alert from
// a partner without those parameters is mapped to a sensible transfer.request. The mapping is
// written down in docs/protocols/cap-edxl.md. Stateless functions, safe on any thread.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "adapters/cap/translate_error.hpp"
#include "adapters/cap/xml_reader.hpp"

namespace bl {
class schema_set;
}

namespace bl::adapters {

inline constexpr std::string_view cap_namespace = "urn:oasis:names:tc:emergency:cap:1.2";

/// A canonical transfer.request, transfer.update or transfer.cancel (already schema-valid) as a
/// CAP 1.2 alert document. Other message types: bl.cap.unsupported_type.
std::variant<std::string, translate_error> cap_export(const nlohmann::json& message);

/// A CAP 1.2 alert as a canonical message, validated against the message schemas before it is
/// returned. The XML is read with read_xml() (hardened, `limits`). Errors: bl.xml.* from the
/// reader; bl.cap.missing_element, bl.cap.bad_value, bl.cap.not_derivable, bl.cap.bad_parameter;
/// bl.schema.invalid (with the JSON pointer) when the result fails the message schemas.
std::variant<nlohmann::json, translate_error> cap_import(std::string_view xml,
                                                         const schema_set& schemas,
                                                         const xml_limits& limits = {});

/// Checks a canonical message: the envelope and body schemas, then what a schema cannot (the id
/// prefix, real dates). nullopt when it is valid.
std::optional<translate_error> check_message(const nlohmann::json& message,
                                             const schema_set& schemas);

}  // namespace bl::adapters
