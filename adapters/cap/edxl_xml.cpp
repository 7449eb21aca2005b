#include "adapters/cap/edxl_xml.hpp"

#include <utility>

#include "adapters/cap/cap_partner.hpp"
#include "adapters/cap/edxl_envelope.hpp"
#include "adapters/cap/json_text.hpp"

namespace bl::adapters {

using nlohmann::json;

namespace {

using cap_detail::clip_chars;
using detail::trim;

const std::string de_ns(edxl10_namespace);

translate_error invalid(const xml_element& parent, const std::string& what) {
  return make_translate_error("bl.edxl.invalid",
                              "EDXL-DE <" + parent.name + "> (at " + parent.where() + ") " + what);
}

}  // namespace

bool looks_like_xml(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    // A UTF-8 byte order mark before the declaration.
    if (static_cast<unsigned char>(c) == 0xEF || static_cast<unsigned char>(c) == 0xBB ||
        static_cast<unsigned char>(c) == 0xBF)
      continue;
    return c == '<';
  }
  return false;
}

std::variant<edxl_distribution, translate_error> edxl10_unwrap(std::string_view xml,
                                                               const schema_set& schemas,
                                                               const partner_context& partner,
                                                               const xml_limits& limits) {
  auto parsed = read_xml(xml, limits);
  if (auto* e = std::get_if<translate_error>(&parsed)) return *e;
  const xml_element& root = std::get<xml_element>(parsed);
  if (root.name != "EDXLDistribution" || root.ns != de_ns)
    return make_translate_error("bl.edxl.not_edxl",
                                "the root element is <" + root.name + "> in namespace '" + root.ns +
                                    "' at " + root.where() + "; expected <EDXLDistribution> in " +
                                    de_ns);
  // EDXL-DE 1.0 section 3.2.1: the elements every distribution has.
  for (const char* req : {"distributionID", "senderID", "dateTimeSent", "distributionStatus",
                          "distributionType", "combinedConfidentiality"})
    if (!root.first(de_ns, req) || trim(root.first(de_ns, req)->text).empty())
      return invalid(root, std::string("has no <") + req + ">");
  edxl_distribution out;
  out.distribution_id = trim(root.first(de_ns, "distributionID")->text);
  out.sender_id = trim(root.first(de_ns, "senderID")->text);
  const xml_element& e_sender = *root.first(de_ns, "senderID");

  // The envelope's sender, like a CAP sender: the link's agency decides, the document must agree.
  partner_context inner = partner;
  std::string agency;
  if (auto it = partner.edxl_senders.find(out.sender_id); it != partner.edxl_senders.end())
    agency = it->second;
  if (!partner.as_agency.empty()) {
    if (agency.empty())
      return make_translate_error(
          "bl.partner.unknown_sender",
          "<senderID> '" + clip_chars(out.sender_id, 120) + "' at " + e_sender.where() +
              " is not an identity of " + partner.as_agency +
              " (the configuration's partners[].edxl_senders lists a partner's EDXL-DE senders)");
    if (agency != partner.as_agency)
      return make_translate_error("bl.partner.sender_mismatch",
                                  "<senderID> '" + clip_chars(out.sender_id, 120) + "' at " +
                                      e_sender.where() + " is " + agency +
                                      "'s, but the document came from " + partner.as_agency);
  } else if (!agency.empty()) {
    inner.as_agency = agency;  // each alert inside must be the envelope sender's too
  }

  // What of the envelope no message carries, said once in every message it yields.
  const auto objects = root.all(de_ns, "contentObject");
  std::string confidentiality = trim(root.first(de_ns, "combinedConfidentiality")->text);
  std::string areas;
  for (const xml_element* t : root.all(de_ns, "targetArea"))
    for (const auto& c : t->children)
      if (!trim(c.text).empty())
        areas += (areas.empty() ? "" : ", ") + c.name + " " + std::string(trim(c.text));
  if (objects.empty()) return invalid(root, "has no <contentObject>");

  for (std::size_t i = 0; i < objects.size(); ++i) {
    const xml_element& obj = *objects[i];
    edxl_item item;
    item.position = i + 1;
    const std::string where = "<contentObject> " + std::to_string(i + 1) + " of " +
                              std::to_string(objects.size()) + " (at " + obj.where() + ")";
    const xml_element* xc = obj.first(de_ns, "xmlContent");
    const xml_element* embedded = xc ? xc->first(de_ns, "embeddedXMLContent") : nullptr;
    const xml_element* alert = nullptr;
    if (embedded)
      for (const auto& c : embedded->children)
        if (c.name == "alert" &&
            (c.ns == std::string(cap_namespace) || c.ns == std::string(cap11_namespace))) {
          alert = &c;
          break;
        }
    if (!alert) {
      std::string what = obj.first(de_ns, "nonXMLContent") ? "non-XML content (an attachment)"
                         : embedded && !embedded->children.empty()
                             ? "<" + embedded->children.front().name + "> in namespace '" +
                                   embedded->children.front().ns + "'"
                             : "no embedded XML document";
      item.result =
          make_translate_error("bl.edxl.content", where + " holds " + what +
                                                      "; Bluelink carries CAP alerts from an "
                                                      "EDXL-DE 1.0 envelope");
      out.items.push_back(std::move(item));
      continue;
    }
    auto r = cap_import_element(*alert, schemas, inner);
    if (auto* e = std::get_if<translate_error>(&r)) {
      item.result = make_translate_error(e->code, where + ": " + e->message);
    } else {
      json msg = std::get<json>(std::move(r));
      std::string line = "the EDXL-DE 1.0 envelope '" + clip_chars(out.distribution_id, 120) +
                         "' from " + clip_chars(out.sender_id, 120) + ": content " +
                         std::to_string(i + 1) + " of " + std::to_string(objects.size());
      if (const xml_element* d = obj.first(de_ns, "contentDescription"))
        line += " ('" + clip_chars(cap_detail::plain_text(d->text), 200) + "')";
      line += "; confidentiality " + clip_chars(confidentiality, 100);
      if (!areas.empty()) line += "; target area " + clip_chars(areas, 200);
      if (msg.contains("source")) {
        auto& nc = msg["source"]["not_carried"];
        if (nc.size() < 200) nc.insert(nc.begin(), clip_chars(line, 1000));
      }
      if (auto e2 = check_message(msg, schemas))
        item.result = make_translate_error(e2->code, where + ": " + e2->message);
      else
        item.result = std::move(msg);
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

bool is_hub_envelope(const json& doc) {
  return doc.is_object() && !doc.contains("EDXLDistribution") &&
         (doc.contains("distributionID") || doc.contains("senderID") || doc.contains("content"));
}

std::variant<edxl_distribution, translate_error> hub_unwrap(std::string_view text,
                                                            const schema_set& schemas,
                                                            const partner_context& partner) {
  json doc;
  if (auto e = read_envelope_json(text, doc)) return *e;
  if (!doc.is_object())
    return make_translate_error("bl.edxl.invalid", "the EDXL-DE envelope is not a JSON object");

  // Every required field the envelope lacks, named at once (EDXL-DE 2.0 section 3.2 and the
  // hub's envelope schema), so that a partner fixes them in one go.
  auto text_at = [&](const json::json_pointer& p) -> std::string {
    if (!doc.contains(p)) return {};
    const json& v = doc.at(p);
    return v.is_string() ? v.get<std::string>() : std::string();
  };
  std::vector<std::string> missing;
  for (const char* p :
       {"/distributionID", "/senderID", "/dateTimeSent", "/dateTimeExpires", "/distributionStatus",
        "/distributionKind", "/descriptor/explicitAddress/explicitAddressScheme",
        "/descriptor/explicitAddress/explicitAddressValue"})
    if (text_at(json::json_pointer(p)).empty()) missing.push_back(p);
  if (!doc.contains("content") || !doc["content"].is_array() || doc["content"].empty())
    missing.push_back("/content");
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < missing.size(); ++i)
      list += (i == 0 ? "" : i + 1 == missing.size() ? " and " : ", ") + missing[i];
    return make_translate_error("bl.edxl.invalid", "the EDXL-DE envelope has no " + list);
  }
  edxl_distribution out;
  out.distribution_id = doc["distributionID"].get<std::string>();
  out.sender_id = doc["senderID"].get<std::string>();
  const std::string address =
      text_at(json::json_pointer("/descriptor/explicitAddress/explicitAddressValue"));

  std::string from;
  if (auto it = partner.edxl_senders.find(out.sender_id); it != partner.edxl_senders.end())
    from = it->second;
  if (!partner.as_agency.empty() && from.empty())
    return make_translate_error("bl.partner.unknown_sender",
                                "/senderID '" + clip_chars(out.sender_id, 120) +
                                    "' is not an identity of " + partner.as_agency +
                                    " (partners[].edxl_senders)");
  if (!partner.as_agency.empty() && from != partner.as_agency)
    return make_translate_error("bl.partner.sender_mismatch",
                                "/senderID '" + clip_chars(out.sender_id, 120) + "' is " + from +
                                    "'s, but the document came from " + partner.as_agency);
  if (from.empty())
    return make_translate_error("bl.edxl.invalid",
                                "/senderID '" + clip_chars(out.sender_id, 120) +
                                    "' is no partner's EDXL-DE sender in the configuration "
                                    "(partners[].edxl_senders)");
  std::string to;
  if (auto it = partner.edxl_senders.find(address); it != partner.edxl_senders.end())
    to = it->second;
  if (to.empty())
    return make_translate_error(
        "bl.edxl.unknown_recipient",
        "/descriptor/explicitAddress/explicitAddressValue '" + clip_chars(address, 120) +
            "' is no agency's EDXL-DE address here (partners[].edxl_senders)");

  const json& content = doc["content"];
  for (std::size_t i = 0; i < content.size(); ++i) {
    edxl_item item;
    item.position = i + 1;
    const std::string where = "/content/" + std::to_string(i) + " (" + std::to_string(i + 1) +
                              " of " + std::to_string(content.size()) + ")";
    const json* msg = nullptr;
    const json& c = content[i];
    if (c.is_object() && c.contains("jsonContent") && c["jsonContent"].is_object() &&
        c["jsonContent"].contains("embeddedJsonContent") &&
        c["jsonContent"]["embeddedJsonContent"].is_object() &&
        c["jsonContent"]["embeddedJsonContent"].contains("message"))
      msg = &c["jsonContent"]["embeddedJsonContent"]["message"];
    if (!msg || !msg->is_object()) {
      item.result = make_translate_error(
          "bl.edxl.content", where + " has no jsonContent.embeddedJsonContent.message object");
    } else if (msg->contains("type") && msg->contains("body")) {
      // A Bluelink message, carried as it is once it is the sender's and to the addressee.
      json m = *msg;
      if (auto e = check_message(m, schemas))
        item.result = make_translate_error(e->code, where + ": " + e->message);
      else if (m.contains("to") && m["to"] != json::array({to}))
        item.result = make_translate_error("bl.edxl.mismatch",
                                           where + ": the message is to " + m["to"].dump() +
                                               ", but the envelope is addressed to " + to);
      else if (m.value("from", std::string()) != from)
        item.result = make_translate_error("bl.partner.sender_mismatch",
                                           where + ": the message is from '" +
                                               m.value("from", std::string()) +
                                               "', but the envelope is " + from + "'s");
      else
        item.result = std::move(m);
    } else {
      // A Hub Santé model: named, and refused, since Bluelink has no mapping of it yet.
      std::string model = msg->empty() ? std::string("(empty)") : msg->begin().key();
      item.result = make_translate_error(
          "bl.edxl.content", where + " is a Hub Sant\xC3\xA9 '" + clip_chars(model, 100) +
                                 "' message, which Bluelink does not carry (it carries Bluelink "
                                 "messages in jsonContent and CAP alerts)");
    }
    out.items.push_back(std::move(item));
  }
  return out;
}

}  // namespace bl::adapters
