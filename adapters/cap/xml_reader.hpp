#pragma once
// A hardened XML reader for documents from outside (CAP alerts): expat with namespaces, any
// DOCTYPE refused (so no entity can be declared: no billion laughs, no external entities), no
// parameter-entity parsing, and limits on document size, element depth, text length and element
// count. Produces a small immutable tree; stateless, so any thread may call read_xml().

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "adapters/cap/translate_error.hpp"

namespace bl::adapters {

struct xml_limits {
  std::size_t max_bytes = 1024 * 1024;  // 1 MiB
  int max_depth = 32;
  std::size_t max_text = 64 * 1024;  // characters of text in one element
  std::size_t max_elements = 20000;
  std::size_t max_attributes = 32;  // per element
};

/// One element: namespace URI and local name kept apart, its text (character data directly
/// inside it, concatenated) and where it started, for error messages.
struct xml_element {
  std::string ns;
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;  // "ns|local" or "local"
  std::string text;
  std::vector<xml_element> children;
  unsigned long line = 0;
  unsigned long column = 0;

  /// "line:column" of the start tag.
  std::string where() const;
  /// Children with this namespace and local name, in document order.
  std::vector<const xml_element*> all(std::string_view ns_uri, std::string_view local) const;
  /// The first such child, or nullptr.
  const xml_element* first(std::string_view ns_uri, std::string_view local) const;
};

/// Parses `doc` under `limits`. Errors: bl.xml.too_large, bl.xml.dtd_refused,
/// bl.xml.external_entity, bl.xml.too_deep, bl.xml.text_too_long, bl.xml.too_many_elements,
/// bl.xml.malformed — each naming line:column.
std::variant<xml_element, translate_error> read_xml(std::string_view doc,
                                                    const xml_limits& limits = {});

/// Escapes text for element content: & < > " ' and CR; control characters XML 1.0 cannot carry
/// are replaced by U+FFFD.
std::string xml_escape(std::string_view text);

}  // namespace bl::adapters
