#pragma once
// The rejection of a document at a translating edge (CAP, EDXL-DE, XML): a stable id that tests
// and operators can grep (bl.xml.*, bl.cap.*, bl.edxl.*) and a message naming the element or
// field, the bad value and, for XML, the line:column.

#include <string>
#include <utility>

namespace bl::adapters {

struct translate_error {
  std::string code;     // e.g. "bl.xml.dtd_refused"
  std::string message;  // specific to this input
};

inline translate_error make_translate_error(std::string code, std::string message) {
  return translate_error{std::move(code), std::move(message)};
}

}  // namespace bl::adapters
