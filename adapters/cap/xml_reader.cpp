#include "adapters/cap/xml_reader.hpp"

#include <memory>
#include <optional>

#include <expat.h>

namespace bl::adapters {

namespace {

constexpr char ns_sep = '|';

std::string at(XML_Parser p) {
  return std::to_string(XML_GetCurrentLineNumber(p)) + ":" +
         std::to_string(XML_GetCurrentColumnNumber(p) + 1);
}

/// Parse state shared with the expat callbacks (one per read_xml call).
struct reader_state {
  XML_Parser parser = nullptr;
  const xml_limits* limits = nullptr;
  std::vector<xml_element> stack;  // open elements; the finished root is moved to `root`
  std::optional<xml_element> root;
  std::optional<translate_error> error;
  std::size_t elements = 0;

  void fail(std::string code, std::string message) {
    if (!error) error = make_translate_error(std::move(code), std::move(message));
    XML_StopParser(parser, XML_FALSE);
  }
};

void split_name(const char* qname, std::string& ns, std::string& local) {
  std::string_view q(qname);
  auto bar = q.find(ns_sep);
  if (bar == std::string_view::npos) {
    ns.clear();
    local = std::string(q);
  } else {
    ns = std::string(q.substr(0, bar));
    local = std::string(q.substr(bar + 1));
  }
}

void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** atts) {
  auto* s = static_cast<reader_state*>(ud);
  if (s->error) return;
  if (static_cast<int>(s->stack.size()) >= s->limits->max_depth) {
    s->fail("bl.xml.too_deep", "element nesting deeper than " +
                                   std::to_string(s->limits->max_depth) + " levels at " +
                                   at(s->parser));
    return;
  }
  if (++s->elements > s->limits->max_elements) {
    s->fail("bl.xml.too_many_elements", "more than " + std::to_string(s->limits->max_elements) +
                                            " elements (at " + at(s->parser) + ")");
    return;
  }
  xml_element e;
  split_name(name, e.ns, e.name);
  e.line = XML_GetCurrentLineNumber(s->parser);
  e.column = XML_GetCurrentColumnNumber(s->parser) + 1;
  for (std::size_t i = 0; atts[i] != nullptr; i += 2) {
    if (e.attributes.size() >= s->limits->max_attributes) {
      s->fail("bl.xml.too_many_attributes",
              "element <" + e.name + "> at " + e.where() + " has more than " +
                  std::to_string(s->limits->max_attributes) + " attributes");
      return;
    }
    e.attributes.emplace_back(atts[i], atts[i + 1]);
  }
  s->stack.push_back(std::move(e));
}

void XMLCALL on_end(void* ud, const XML_Char*) {
  auto* s = static_cast<reader_state*>(ud);
  if (s->error || s->stack.empty()) return;
  xml_element done = std::move(s->stack.back());
  s->stack.pop_back();
  if (s->stack.empty())
    s->root = std::move(done);
  else
    s->stack.back().children.push_back(std::move(done));
}

void XMLCALL on_text(void* ud, const XML_Char* text, int len) {
  auto* s = static_cast<reader_state*>(ud);
  if (s->error || s->stack.empty()) return;
  auto& t = s->stack.back().text;
  if (t.size() + static_cast<std::size_t>(len) > s->limits->max_text) {
    s->fail("bl.xml.text_too_long", "text of <" + s->stack.back().name + "> (started at " +
                                        s->stack.back().where() + ") is longer than " +
                                        std::to_string(s->limits->max_text) + " bytes");
    return;
  }
  t.append(text, static_cast<std::size_t>(len));
}

// Any DOCTYPE is refused before its internal subset is read, so no entity is ever declared.
void XMLCALL on_doctype(void* ud, const XML_Char* name, const XML_Char*, const XML_Char*, int) {
  auto* s = static_cast<reader_state*>(ud);
  s->fail("bl.xml.dtd_refused",
          "DTDs are not accepted (DOCTYPE " + std::string(name) + " at " + at(s->parser) + ")");
}

// Belt and braces: should an entity declaration ever be reported, stop there.
void XMLCALL on_entity_decl(void* ud, const XML_Char* name, int, const XML_Char*, int,
                            const XML_Char*, const XML_Char*, const XML_Char*, const XML_Char*) {
  auto* s = static_cast<reader_state*>(ud);
  s->fail("bl.xml.dtd_refused", "entity declarations are not accepted (" + std::string(name) +
                                    " at " + at(s->parser) + ")");
}

int XMLCALL on_external_entity(XML_Parser p, const XML_Char*, const XML_Char*,
                               const XML_Char* system_id, const XML_Char*) {
  auto* s = static_cast<reader_state*>(XML_GetUserData(p));
  if (!s->error)
    s->error =
        make_translate_error("bl.xml.external_entity",
                             "external entities are not accepted (" +
                                 std::string(system_id ? system_id : "?") + " at " + at(p) + ")");
  return XML_STATUS_ERROR;
}

struct parser_free {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

}  // namespace

std::string xml_element::where() const {
  return std::to_string(line) + ":" + std::to_string(column);
}

std::vector<const xml_element*> xml_element::all(std::string_view ns_uri,
                                                 std::string_view local) const {
  std::vector<const xml_element*> out;
  for (const auto& c : children)
    if (c.ns == ns_uri && c.name == local) out.push_back(&c);
  return out;
}

const xml_element* xml_element::first(std::string_view ns_uri, std::string_view local) const {
  for (const auto& c : children)
    if (c.ns == ns_uri && c.name == local) return &c;
  return nullptr;
}

std::variant<xml_element, translate_error> read_xml(std::string_view doc,
                                                    const xml_limits& limits) {
  if (doc.size() > limits.max_bytes)
    return make_translate_error("bl.xml.too_large", "document is " + std::to_string(doc.size()) +
                                                        " bytes; the limit is " +
                                                        std::to_string(limits.max_bytes));
  std::unique_ptr<XML_ParserStruct, parser_free> owner(XML_ParserCreateNS(nullptr, ns_sep));
  if (!owner) return make_translate_error("bl.xml.malformed", "cannot create an XML parser");
  XML_Parser p = owner.get();
  reader_state s;
  s.parser = p;
  s.limits = &limits;
  XML_SetUserData(p, &s);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  XML_SetStartDoctypeDeclHandler(p, on_doctype);
  XML_SetEntityDeclHandler(p, on_entity_decl);
  XML_SetExternalEntityRefHandler(p, on_external_entity);
  XML_SetParamEntityParsing(p, XML_PARAM_ENTITY_PARSING_NEVER);

  if (XML_Parse(p, doc.data(), static_cast<int>(doc.size()), XML_TRUE) != XML_STATUS_OK) {
    if (s.error) return *s.error;
    return make_translate_error(
        "bl.xml.malformed",
        std::string("malformed XML at ") + at(p) + ": " + XML_ErrorString(XML_GetErrorCode(p)));
  }
  if (s.error) return *s.error;
  if (!s.root) return make_translate_error("bl.xml.malformed", "malformed XML: no root element");
  return std::move(*s.root);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;  // a raw CR would be normalised away by the reader
      default:
        if (c < 0x20 && ch != '\n' && ch != '\t')
          out += "\xEF\xBF\xBD";
        else
          out += ch;
    }
  }
  return out;
}

}  // namespace bl::adapters
