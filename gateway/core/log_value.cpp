#include "gateway/core/log_value.hpp"

namespace bl {

std::string log_escape(std::string_view v) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(v.size());
  for (unsigned char c : v) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += "\\x";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

std::string log_quote(std::string_view v) {
  return "\"" + log_escape(v) + "\"";
}

}  // namespace bl
