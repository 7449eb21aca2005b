#include "adapters/cap/edxl_envelope.hpp"

#include <chrono>

#include "adapters/cap/cap_alert.hpp"
#include "gateway/core/json_bounded.hpp"
#include "gateway/core/time_util.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::adapters {

using nlohmann::json;

namespace {

constexpr const char* sender_domain = "@bluelink";
constexpr const char* type_list_uri = "urn:bluelink:message-type";

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string status_of(const json& msg) {
  auto mode = str(msg, "mode");
  return mode == "exercise" ? "Exercise" : mode == "test" ? "Test" : "Actual";
}

std::string kind_of(const std::string& type) {
  if (type == "transfer.request") return "Request";
  if (type == "transfer.update") return "Update";
  if (type == "transfer.cancel") return "Cancel";
  if (type == "transfer.accept" || type == "transfer.decline" || type == "transfer.defer")
    return "Response";
  if (type == "transfer.received" || type == "receipt") return "Ack";
  if (type == "error") return "Error";
  return "Report";
}

// DE 2.0 requires an expiry; a message without one expires a day after it was sent.
std::string expires_of(const json& msg) {
  if (auto e = str(msg, "expires_at"); !e.empty()) return e;
  auto sent = parse_rfc3339(str(msg, "sent_at"));
  if (!sent) return str(msg, "sent_at");
  auto t = format_rfc3339(*sent + std::chrono::hours(24));
  // format_rfc3339 writes milliseconds; the envelope keeps whole seconds.
  return t.substr(0, 19) + "Z";
}

json envelope_for(const json& msg) {
  json dist = {
      {"distributionID", str(msg, "id")},     {"senderID", str(msg, "from") + sender_domain},
      {"dateTimeSent", str(msg, "sent_at")},  {"dateTimeExpires", expires_of(msg)},
      {"distributionStatus", status_of(msg)}, {"distributionKind", kind_of(str(msg, "type"))},
  };
  if (msg.contains("to") && msg["to"].is_array() && !msg["to"].empty())
    dist["explicitAddress"] =
        json::array({{{"explicitAddressScheme", "bluelink"}, {"explicitAddressValue", msg["to"]}}});
  return dist;
}

json descriptor_for(const json& msg) {
  const json& body = msg.contains("body") ? msg["body"] : json::object();
  json d = {{"contentDescription", "Bluelink " + str(msg, "type")},
            {"contentKeyword",
             json::array({{{"valueListURI", type_list_uri}, {"value", {str(msg, "type")}}}})}};
  if (auto tid = str(msg, "transfer_id"); !tid.empty()) d["incidentID"] = tid;
  if (auto s = str(body, "summary"); !s.empty()) d["incidentDescription"] = s;
  return d;
}

translate_error invalid(const error& e) {
  return make_translate_error("bl.edxl.invalid",
                              e.message + " (at '" + e.pointer + "' in the EDXL-DE envelope)");
}

}  // namespace

json edxl_wrap(const json& msg) {
  json dist = envelope_for(msg);
  dist["content"] = json::array(
      {{{"contentObject", {{"contentDescriptor", descriptor_for(msg)}, {"jsonContent", msg}}}}});
  return {{"EDXLDistribution", std::move(dist)}};
}

json edxl_wrap_cap(std::string_view cap_xml, const json& msg) {
  json dist = envelope_for(msg);
  json descriptor = descriptor_for(msg);
  descriptor["contentDescription"] = "CAP 1.2 alert: Bluelink " + str(msg, "type");
  dist["content"] = json::array(
      {{{"contentObject",
         {{"contentDescriptor", descriptor},
          {"xmlContent", {{"embeddedXMLContent", json::array({std::string(cap_xml)})}}}}}}});
  return {{"EDXLDistribution", std::move(dist)}};
}

std::optional<translate_error> read_envelope_json(std::string_view text, json& doc) {
  if (text.size() > edxl_max_bytes)
    return make_translate_error("bl.edxl.too_large", "envelope is " + std::to_string(text.size()) +
                                                         " bytes; the limit is " +
                                                         std::to_string(edxl_max_bytes));
  // Nesting is bounded before parsing, so nothing below walks a 100,000-deep document.
  json_limits limits;
  limits.max_bytes = edxl_max_bytes;
  if (auto e = parse_json_bounded(text, doc, limits, "the EDXL-DE envelope"))
    return e->code == errc::malformed_json
               ? make_translate_error("bl.edxl.malformed_json",
                                      "the EDXL-DE envelope is not well-formed JSON")
               : make_translate_error(std::string(e->id()), e->message);
  return std::nullopt;
}

std::variant<edxl_content, translate_error> edxl_unwrap(std::string_view text,
                                                        const schema_set& schemas) {
  json doc;
  if (auto e = read_envelope_json(text, doc)) return *e;
  if (auto e = schemas.validate(edxl_schema, doc)) return invalid(*e);

  const json& dist = doc["EDXLDistribution"];
  const json& content = dist["content"];
  if (content.size() != 1)
    return make_translate_error("bl.edxl.content",
                                "/EDXLDistribution/content has " + std::to_string(content.size()) +
                                    " content objects; Bluelink carries exactly one message per "
                                    "distribution");
  const json& obj = content[0]["contentObject"];
  edxl_content out;
  if (obj.contains("jsonContent")) {
    out.message = obj["jsonContent"];
    if (auto e = check_message(out.message, schemas))
      return make_translate_error(e->code, "jsonContent: " + e->message);
  } else {
    const json& embedded = obj["xmlContent"]["embeddedXMLContent"];
    if (embedded.size() != 1)
      return make_translate_error("bl.edxl.content",
                                  "/EDXLDistribution/content/0/contentObject/xmlContent/"
                                  "embeddedXMLContent has " +
                                      std::to_string(embedded.size()) +
                                      " documents; Bluelink takes exactly one CAP alert");
    out.cap_xml = embedded[0].get<std::string>();
    auto imported = cap_import(out.cap_xml, schemas);
    if (auto* e = std::get_if<translate_error>(&imported))
      return make_translate_error(e->code, "embedded CAP alert: " + e->message);
    out.message = std::move(std::get<json>(imported));
  }

  // The envelope must tell the same story as the message it carries.
  const json& msg = out.message;
  auto mismatch = [](const std::string& pointer, const std::string& got, const std::string& want) {
    return make_translate_error(
        "bl.edxl.mismatch",
        pointer + " is '" + got + "' but the message inside says '" + want + "'");
  };
  if (dist["senderID"] != str(msg, "from") + sender_domain)
    return mismatch("/EDXLDistribution/senderID", dist["senderID"].get<std::string>(),
                    str(msg, "from") + sender_domain);
  if (dist["distributionStatus"] != status_of(msg))
    return mismatch("/EDXLDistribution/distributionStatus",
                    dist["distributionStatus"].get<std::string>(), status_of(msg));
  if (dist.contains("explicitAddress")) {
    json to = json::array();
    for (const auto& a : dist["explicitAddress"])
      if (a["explicitAddressScheme"] == "bluelink")
        for (const auto& v : a["explicitAddressValue"]) to.push_back(v);
    if (msg.contains("to") && to != msg["to"])
      return mismatch("/EDXLDistribution/explicitAddress", to.dump(), msg["to"].dump());
  }
  return out;
}

}  // namespace bl::adapters
