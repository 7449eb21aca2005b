#include "adapters/ucri2/ucri2_message.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "gateway/core/config.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::adapters::ucri2 {

using nlohmann::json;

namespace {

constexpr std::string_view bb_malformed = "bl.ucri2.malformed_json";
constexpr std::string_view bb_invalid_request = "bl.ucri2.invalid_request";
constexpr std::string_view bb_not_mappable = "bl.ucri2.not_mappable";

bool is_hex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A stable UUID (RFC 4122 layout, version nibble 5) from any text: SHA-256, first 128 bits.
std::string uuid_from(std::string_view text) {
  std::string h = sha256_hex(text);
  h[12] = '5';
  h[16] = '8';
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

// Cuts UTF-8 text to at most `max` code points, so that no multi-byte character is split.
std::string utf8_prefix(const std::string& s, std::size_t max) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (count == max) return s.substr(0, i);
      ++count;
    }
  }
  return s;
}

std::size_t utf8_length(const std::string& s) {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

// Free text that must fit a canonical field: shortened with a visible mark.
std::string fit(const std::string& s, std::size_t max) {
  if (utf8_length(s) <= max) return s;
  const std::string mark = " [truncated]";
  return utf8_prefix(s, max - mark.size()) + mark;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

std::string str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

ucri2_error not_mappable(std::string message, std::string pointer) {
  return make_ucri2_error(wire_code::invalid_payload, std::string(bb_not_mappable),
                          std::move(message), std::move(pointer));
}

std::string address_line(const json& a) {
  std::string street = join({str(a, "street"), str(a, "houseNumber")}, " ");
  std::string city = join({str(a, "postalCode"), str(a, "city")}, " ");
  if (!str(a, "cityDistrict").empty()) city += " (" + str(a, "cityDistrict") + ")";
  return join({street, city, str(a, "state"), str(a, "country"), str(a, "additionalInformation")},
              ", ");
}

std::string object_line(const json& o) {
  return join({str(o, "name"), str(o, "additionalInformation")}, ", ");
}

std::string person_line(const json& p) {
  return join({join({str(p, "surname"), str(p, "name")}, " "), str(p, "phone"), str(p, "email"),
               p.contains("address") ? address_line(p.at("address")) : std::string(),
               str(p, "additionalInformation")},
              ", ");
}

std::string category_for(const participant& to) {
  if (to.kind == "police") return "police.scene_security";
  if (to.kind == "fire") return "fire.rescue";
  if (to.kind == "ambulance") return "ambulance.casualty_care";
  return "notification";
}

const std::string data_ptr = "/payload/data";

std::variant<json, ucri2_error> incident_to_request(const send_request& req, const json& d,
                                                    const inbound_context& ctx,
                                                    std::vector<std::string>& not_carried) {
  // fit(), and a line for the receiving operator when the text did not fit.
  auto fit_noted = [&not_carried](const std::string& s, std::size_t max, const std::string& what) {
    if (utf8_length(s) > max)
      not_carried.push_back(what + " beyond its first " + std::to_string(max - 12) + " of " +
                            std::to_string(utf8_length(s)) + " characters");
    return fit(s, max);
  };
  std::string shared = lower(str(d, "sharedIncidentId"));
  std::string internal = str(d, "internalId");
  std::string system = "UCRI2";
  if (!internal.empty()) system += " " + internal;
  if (utf8_length(system) > 60)
    return not_mappable("internalId '" + internal +
                            "' is longer than the 54 characters Bluelink keeps beside the "
                            "incident number",
                        data_ptr + "/internalId");
  std::vector<std::string> classes;
  if (d.contains("classifications"))
    for (const auto& c : d.at("classifications")) classes.push_back(c.get<std::string>());
  std::string issue = str(d, "issue");
  std::string code = classes.empty() ? "UCRI2" : classes.front();
  if (code.empty() || utf8_length(code) > 40)
    return not_mappable(
        "classifications/0 '" + code + "' must be 1 to 40 characters to be the incident type code",
        data_ptr + "/classifications/0");
  std::string all_classes = join(classes, " ");
  json type = {{"code", code},
               {"text", fit_noted(!issue.empty() ? issue
                                                 : (all_classes.empty() ? "UCRI2 incident transfer"
                                                                        : all_classes),
                                  500, "issue")}};
  if (classes.size() > 1 && utf8_length(all_classes) <= 40) type["agency_code"] = all_classes;

  const json& ml = d.at("missionLocation");
  json loc = json::object();
  if (ml.contains("coordinate"))
    loc["wgs84"] = {{"lat", ml.at("coordinate").at("lat")}, {"lon", ml.at("coordinate").at("lon")}};
  if (ml.contains("address")) {
    std::string a = address_line(ml.at("address"));
    if (utf8_length(a) > 300)
      return not_mappable("the address is " + std::to_string(utf8_length(a)) +
                              " characters written out; Bluelink keeps at most 300",
                          data_ptr + "/missionLocation/address");
    loc["address"] = a;
  }
  std::string directions =
      join({ml.contains("object") ? "Object: " + object_line(ml.at("object")) : std::string(),
            ml.contains("superiorObject") ? "Within: " + object_line(ml.at("superiorObject"))
                                          : std::string(),
            str(ml, "floor").empty() ? std::string() : "Floor: " + str(ml, "floor"),
            str(ml, "room").empty() ? std::string() : "Room: " + str(ml, "room"),
            str(ml, "additionalInformation")},
           "; ");
  if (!directions.empty())
    loc["directions"] = fit_noted(directions, 500, "the object, floor, room and location notes");

  std::vector<std::string> notes;
  notes.push_back(str(d, "additionalInformation"));
  if (!all_classes.empty()) notes.push_back("Classifications: " + all_classes);
  if (!str(d, "startTimestamp").empty()) notes.push_back("Started: " + str(d, "startTimestamp"));
  if (d.contains("informers"))
    for (const auto& p : d.at("informers")) notes.push_back("Informer: " + person_line(p));
  if (d.contains("protocolRemarks"))
    for (const auto& r : d.at("protocolRemarks"))
      notes.push_back("Remark " + str(r, "timestamp") + ": " + str(r, "message"));
  if (!req.description.empty()) notes.push_back(req.description);

  std::string summary =
      !issue.empty() ? issue : (all_classes.empty() ? "UCRI2 incident" : all_classes);
  json body = {
      {"category", category_for(*ctx.to)},
      {"priority", d.value("flashingLights", false) ? "emergency" : "urgent"},
      {"ask", "take_over"},
      {"summary", fit(summary, 200)},  // the issue in full is the type's text
      {"sender_incident", {{"number", shared}, {"system", system}}},
      {"methane",
       {{"major_incident", "not_declared"}, {"exact_location", loc}, {"type_of_incident", type}}}};
  std::string n = join(notes, "\n");
  if (!n.empty())
    body["notes"] = fit_noted(n, 2000, "additionalInformation, informers and protocolRemarks");
  return body;
}

std::string notification_lines(const json& list, std::string& first) {
  std::vector<std::string> lines;
  for (const auto& n : list) {
    if (first.empty()) first = str(n, "message");
    std::string cat = str(n, "category");
    lines.push_back(str(n, "timestamp") + (cat.empty() ? "" : " [" + cat + "]") + " " +
                    str(n, "message"));
  }
  return join(lines, "\n");
}

std::string base64url(const unsigned char* p, std::size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < n; i += 3) {
    unsigned v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += tbl[v & 63];
  }
  if (n - i == 1) {
    unsigned v = p[i] << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
  } else if (n - i == 2) {
    unsigned v = (p[i] << 16) | (p[i + 1] << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
  }
  return out;
}

std::string base64url(std::string_view s) {
  return base64url(reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

// Decodes base64 or base64url, with or without padding; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view s) {
  while (!s.empty() && s.back() == '=') s.remove_suffix(1);
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : s) {
    int d;
    if (c >= 'A' && c <= 'Z')
      d = c - 'A';
    else if (c >= 'a' && c <= 'z')
      d = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      d = c - '0' + 52;
    else if (c == '+' || c == '-')
      d = 62;
    else if (c == '/' || c == '_')
      d = 63;
    else
      return std::nullopt;
    v = (v << 6) | static_cast<unsigned>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xFF);
    }
  }
  return out;
}

std::string hmac_sha256(const std::string& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  return base64url(mac, len);
}

bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

int ucri2_error::http_status() const {
  switch (code) {
    case wire_code::unauthorized:
      return 401;
    case wire_code::internal:
      return 500;
    default:
      return 400;
  }
}

std::string_view reason_of(wire_code code) {
  switch (code) {
    case wire_code::invalid_request:
      return "REQUEST_INVALID_PER_CLIENT_TRANSPORT_SPEC";
    case wire_code::unknown_app:
      return "REQUEST_PAYLOAD_UNKNOWN_APPID";
    case wire_code::unknown_app_version:
      return "REQUEST_PAYLOAD_UNKNOWN_APPVERSION";
    case wire_code::unknown_schema:
      return "REQUEST_PAYLOAD_UNKNOWN_SCHEMAID";
    case wire_code::invalid_payload:
      return "REQUEST_PAYLOAD_INVALID_PER_APP_SPEC";
    case wire_code::payload_not_json:
      return "REQUEST_PAYLOAD_INVALID_JSON";
    case wire_code::unsupported_app:
      return "REQUEST_PAYLOAD_UNSUPPORTED_APPID_OR_APPVERSION";
    case wire_code::forbidden_app:
      return "REQUEST_PAYLOAD_FORBIDDEN_APPID";
    case wire_code::unsupported_message:
      return "REQUEST_PAYLOAD_UNSUPPORTED_MESSAGE";
    case wire_code::unknown_destination:
      return "REQUEST_UNKNOWN_DESTINATION_ID";
    case wire_code::no_messages_to_commit:
      return "REQUEST_NO_MESSAGES_TO_COMMIT";
    case wire_code::unauthorized:
      return "REQUEST_UNAUTHORIZED";
    case wire_code::oid_forbidden:
      return "REQUEST_OID_FORBIDDEN";
    case wire_code::internal:
      return "REQUEST_INTERNAL_ERROR";
  }
  return "REQUEST_INTERNAL_ERROR";
}

json ucri2_error::to_json() const {
  json j = {{"code", static_cast<int>(code)},
            {"reason", std::string(reason_of(code))},
            {"message", message},
            {"blCode", bl_code}};
  if (!pointer.empty()) j["pointer"] = pointer;
  return j;
}

ucri2_error make_ucri2_error(wire_code code, std::string bl_code, std::string message,
                             std::string pointer) {
  return ucri2_error{code, std::move(bl_code), std::move(message), std::move(pointer)};
}

directory make_directory(const gateway_config& cfg) {
  directory d;
  d.ucrm_oid = cfg.ucri2.oid;
  for (const auto& p : cfg.ucri2.participants) {
    const auto* a = cfg.find_agency(p.agency);
    participant entry{
        p.oid,    p.agency, a ? a->name : p.agency, a ? std::string(to_string(a->kind)) : "other",
        p.client, {}};
    for (const auto& app : p.supported_apps)
      entry.apps.push_back({app.app_id, app.app_version, app.unsupported_messages});
    d.participants.push_back(std::move(entry));
  }
  return d;
}

std::vector<participant_app> participant::supported() const {
  if (!apps.empty()) {
    // transport_layer_messages is every participant's: the UCRM sends them to all.
    auto out = apps;
    out.push_back({"transport_layer_messages", "1.0", {}});
    return out;
  }
  std::vector<participant_app> out;
  for (const auto& a : supported_apps()) out.push_back({a.app_id, a.app_version, {}});
  return out;
}

std::optional<ucri2_error> participant::refuses(const app_message& m) const {
  if (apps.empty()) return std::nullopt;
  for (const auto& a : apps) {
    if (a.app_id != m.app_id || a.app_version != m.app_version) continue;
    if (std::find(a.unsupported_messages.begin(), a.unsupported_messages.end(), m.schema_id) !=
        a.unsupported_messages.end())
      return make_ucri2_error(wire_code::unsupported_message, "bl.ucri2.unsupported_message",
                              name + " (" + oid + ") does not support the '" + m.schema_id +
                                  "' message of " + m.app_id + " " + m.app_version,
                              "/payload/schemaId");
    return std::nullopt;
  }
  std::string have;
  for (const auto& a : apps) have += (have.empty() ? "" : ", ") + a.app_id + " " + a.app_version;
  return make_ucri2_error(wire_code::unsupported_app, "bl.ucri2.unsupported_app",
                          name + " (" + oid + ") does not support " + m.app_id + " " +
                              m.app_version + "; it supports " + have,
                          "/payload/appId");
}

const participant* directory::by_oid(std::string_view oid) const {
  for (const auto& p : participants)
    if (p.oid == oid) return &p;
  return nullptr;
}

const participant* directory::by_agency(std::string_view agency) const {
  for (const auto& p : participants)
    if (p.agency == agency) return &p;
  return nullptr;
}

std::string_view to_string(ack_mode a) {
  switch (a) {
    case ack_mode::nack:
      return "NACK";
    case ack_mode::all:
      return "ALL";
    default:
      return "NONE";
  }
}

const std::vector<app_support>& supported_apps() {
  static const std::vector<app_support> apps = {
      {"incident_transfer", "1.0", {"incident", "acknowledgement", "completion"}},
      {"notification_text", "1.0", {"notification"}},
      {"transport_layer_messages", "1.0", {"message_delivery_status"}},
  };
  return apps;
}

std::optional<std::int64_t> integer_in(const json& v, std::int64_t lo, std::int64_t hi) {
  if (v.is_number_unsigned()) {
    auto u = v.get<std::uint64_t>();
    if (hi < 0 || u > static_cast<std::uint64_t>(hi)) return std::nullopt;
    auto i = static_cast<std::int64_t>(u);
    return i < lo ? std::nullopt : std::optional<std::int64_t>(i);
  }
  if (!v.is_number_integer()) return std::nullopt;
  auto i = v.get<std::int64_t>();
  return i < lo || i > hi ? std::nullopt : std::optional<std::int64_t>(i);
}

std::variant<send_request, ucri2_error> parse_send_request(std::string_view body,
                                                           const schema_set& schemas,
                                                           const json_limits& limits) {
  auto r = parse_send_envelope(body, schemas, limits);
  if (auto* req = std::get_if<send_request>(&r))
    if (auto e = check_send_payload(*req, schemas, limits)) return *e;
  return r;
}

std::variant<send_request, ucri2_error> parse_send_envelope(std::string_view body,
                                                            const schema_set& schemas,
                                                            const json_limits& limits) {
  json doc;
  if (auto e = parse_json_bounded(body, doc, limits, "the request body"))
    return make_ucri2_error(
        wire_code::invalid_request,
        e->code == errc::malformed_json ? std::string(bb_malformed) : std::string(e->id()),
        e->message);
  if (auto e = schemas.validate("ucri2/client/send_request", doc))
    return make_ucri2_error(wire_code::invalid_request, std::string(bb_invalid_request), e->message,
                            e->pointer);
  send_request r;
  r.message_id = lower(doc.value("messageId", std::string()));
  r.message_id_given = !r.message_id.empty();
  if (doc.contains("sentDate")) {
    r.sent_date = parse_rfc3339(doc.at("sentDate").get<std::string>());
    if (!r.sent_date)
      return make_ucri2_error(wire_code::invalid_request, std::string(bb_invalid_request),
                              "sentDate '" + doc.at("sentDate").get<std::string>() +
                                  "' is not a real RFC 3339 date-time",
                              "/sentDate");
  }
  if (auto it = doc.find("timeout"); it != doc.end()) {
    // The schema bounds it too; converted only through the range check, never wrapped.
    auto t = integer_in(*it, 10, 86400);
    if (!t)
      return make_ucri2_error(wire_code::invalid_request, std::string(bb_invalid_request),
                              "timeout must be an integer number of seconds from 10 to 86400",
                              "/timeout");
    r.timeout_s = static_cast<int>(*t);
  }
  std::string ack = doc.value("ack", std::string("NONE"));
  r.ack = ack == "ALL" ? ack_mode::all : ack == "NACK" ? ack_mode::nack : ack_mode::none;
  r.source = doc.at("source").get<std::string>();
  r.destination = doc.at("destinations").at(0).get<std::string>();
  r.description = doc.value("description", std::string());
  r.has_signature = doc.contains("signature");
  if (auto it = doc.find("tags"); it != doc.end())
    for (const auto& t : *it) {
      if (r.tags.size() == 50) break;
      r.tags.push_back(t.get<std::string>());
    }

  const json& p = doc.at("payload");
  r.payload.app_id = p.at("appId").get<std::string>();
  r.payload.app_version = p.at("appVersion").get<std::string>();
  r.payload.schema_id = p.at("schemaId").get<std::string>();
  r.content_type = p.at("contentType").get<std::string>();
  r.data_text = p.at("data").get<std::string>();
  return r;
}

namespace {

// The apps and versions the UCRI2 project publishes (PMeV-EFUL/ucri2 apps/<app>/<version>). A
// UCRM knows them all; Bluelink's destinations take only those it translates, so a published
// app or version outside supported_apps() is one the destination does not support (466), and
// only what is not published at all is unknown (461, 462), as the reference client's standalone
// suite expects ("appId not supported by receiver": patient_transport, 466).
bool published(std::string_view app, std::string_view version) {
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> apps = {
      {"classification_catalogue", {"0.1", "1.0"}},
      {"incident_transfer", {"0.1", "1.0"}},
      {"incident_transfer_police", {"0.1", "1.0"}},
      {"incident_transfer_with_patient", {"0.1", "1.0"}},
      {"mobile_device_callout", {"0.1"}},
      {"notification_text", {"0.1", "1.0"}},
      {"patient_transfer", {"0.1", "1.0"}},
      {"patient_transport", {"0.1", "1.0"}},
      {"resource_request", {"0.1", "1.0"}},
      {"resource_type_catalogue", {"0.1", "1.0"}},
  };
  for (const auto& [name, versions] : apps)
    if (name == app)
      return version.empty() ||
             std::find(versions.begin(), versions.end(), version) != versions.end();
  return false;
}

std::string translated_apps() {
  std::string out;
  for (const auto& a : supported_apps())
    out += (out.empty() ? "" : " and ") + a.app_id + " " + a.app_version;
  return out;
}

}  // namespace

std::optional<ucri2_error> check_send_payload(send_request& r, const schema_set& schemas,
                                              const json_limits& limits) {
  if (r.payload.app_id == "transport_layer_messages")
    return make_ucri2_error(wire_code::forbidden_app, "bl.ucri2.forbidden_app",
                            "transport_layer_messages are sent by the UCRM only, never by a client",
                            "/payload/appId");
  const auto& apps = supported_apps();
  auto app = std::find_if(apps.begin(), apps.end(),
                          [&](const app_support& a) { return a.app_id == r.payload.app_id; });
  if (app == apps.end() && published(r.payload.app_id, {}))
    return make_ucri2_error(wire_code::unsupported_app, "bl.ucri2.unsupported_app",
                            "no destination on this gateway supports " + r.payload.app_id +
                                " (a published UCRI2 " + "app): Bluelink carries " +
                                translated_apps() + ", as each registry entry says",
                            "/payload/appId");
  if (app == apps.end())
    return make_ucri2_error(
        wire_code::unknown_app, "bl.ucri2.unknown_app",
        "app '" + r.payload.app_id + "' is not a UCRI2 app; Bluelink carries " + translated_apps(),
        "/payload/appId");
  if (app->app_version != r.payload.app_version &&
      published(r.payload.app_id, r.payload.app_version))
    return make_ucri2_error(wire_code::unsupported_app, "bl.ucri2.unsupported_app",
                            "no destination on this gateway supports " + r.payload.app_id + " " +
                                r.payload.app_version + ": Bluelink carries " + translated_apps(),
                            "/payload/appVersion");
  if (app->app_version != r.payload.app_version)
    return make_ucri2_error(wire_code::unknown_app_version, "bl.ucri2.unknown_app_version",
                            "version '" + r.payload.app_version + "' of app '" + r.payload.app_id +
                                "' is not known; use " + app->app_version,
                            "/payload/appVersion");
  if (std::find(app->schemas.begin(), app->schemas.end(), r.payload.schema_id) ==
      app->schemas.end())
    return make_ucri2_error(wire_code::unknown_schema, "bl.ucri2.unknown_schema",
                            "app '" + r.payload.app_id + "' has no message '" +
                                r.payload.schema_id + "'; it has " + join(app->schemas, ", "),
                            "/payload/schemaId");
  if (r.content_type != "application/json")
    return make_ucri2_error(wire_code::invalid_payload, "bl.ucri2.encrypted_payload",
                            "Bluelink translates the payload into a transfer and cannot read "
                            "application/jose (encrypted) data; send application/json",
                            "/payload/contentType");
  if (auto e = parse_json_bounded(r.data_text, r.payload.data, limits, "payload.data"))
    return make_ucri2_error(wire_code::payload_not_json,
                            e->code == errc::malformed_json
                                ? std::string("bl.ucri2.payload_not_json")
                                : std::string(e->id()),
                            e->message, "/payload/data");
  std::string name =
      "ucri2/" + r.payload.app_id + "/" + r.payload.app_version + "/" + r.payload.schema_id;
  if (auto e = schemas.validate(name, r.payload.data, "/payload/data"))
    return make_ucri2_error(wire_code::invalid_payload, "bl.ucri2.invalid_payload",
                            r.payload.app_id + " " + r.payload.schema_id + ": " + e->message,
                            e->pointer);
  // What a pattern cannot check: the dates must be real.
  for (const char* key :
       {"sentByDispatcherAt", "startTimestamp", "acknowledgedByDispatcherAt", "completedAt"}) {
    auto it = r.payload.data.find(key);
    if (it != r.payload.data.end() && !parse_rfc3339(it->get<std::string>()))
      return make_ucri2_error(
          wire_code::invalid_payload, "bl.ucri2.invalid_payload",
          std::string(key) + " '" + it->get<std::string>() + "' is not a real RFC 3339 date-time",
          "/payload/data/" + std::string(key));
  }
  r.data_text.clear();  // read into payload.data
  return std::nullopt;
}

std::string canonical_id(const std::string& agency, const std::string& message_id, ack_mode ack) {
  std::string id = agency + ":" + message_id;
  if (ack != ack_mode::none) id += "~" + std::string(to_string(ack));
  return id;
}

std::pair<std::string, ack_mode> split_canonical_id(const std::string& id) {
  auto colon = id.find(':');
  std::string rest = colon == std::string::npos ? id : id.substr(colon + 1);
  ack_mode ack = ack_mode::none;
  auto tilde = rest.find('~');
  if (tilde != std::string::npos) {
    std::string mode = rest.substr(tilde + 1);
    if (mode == "ALL" || mode == "NACK") {
      ack = mode == "ALL" ? ack_mode::all : ack_mode::nack;
      rest = rest.substr(0, tilde);
    }
  }
  if (is_uuid(rest)) return {lower(rest), ack};
  return {uuid_from(id), ack_mode::none};
}

std::string shared_incident_id(const transfer_facts& t) {
  if (is_uuid(t.requester_number)) return lower(t.requester_number);
  // "T-20261121-000123": the date fills the first group, the sequence the last.
  if (t.transfer_id.size() == 17 && t.transfer_id.compare(0, 2, "T-") == 0)
    return t.transfer_id.substr(2, 8) + "-b1e1-4000-8000-b1e100" + t.transfer_id.substr(11, 6);
  return uuid_from(t.transfer_id);
}

std::optional<std::string> transfer_id_from_shared(std::string_view s) {
  if (!is_uuid(s)) return std::nullopt;
  std::string l = lower(std::string(s));
  if (l.compare(8, 22, "-b1e1-4000-8000-b1e100") != 0) return std::nullopt;
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 30, 31, 32, 33, 34, 35})
    if (!std::isdigit(static_cast<unsigned char>(l[i]))) return std::nullopt;
  return "T-" + l.substr(0, 8) + "-" + l.substr(30, 6);
}

namespace {

std::variant<json, ucri2_error> canonical_of(const send_request& req, const inbound_context& ctx,
                                             std::vector<std::string>& not_carried) {
  const json& d = req.payload.data;
  json msg = {{"id", canonical_id(ctx.from->agency, req.message_id, req.ack)},
              {"from", ctx.from->agency},
              {"sent_at", format_rfc3339(req.sent_date.value_or(ctx.now))},
              {"mode", "live"}};
  const std::string& app = req.payload.app_id;
  const std::string& schema = req.payload.schema_id;
  auto existing = [&]() -> std::variant<transfer_facts, ucri2_error> {
    std::string shared = lower(str(d, "sharedIncidentId"));
    std::optional<transfer_facts> t = ctx.find ? ctx.find(shared) : std::nullopt;
    if (!t)
      return not_mappable("no transfer between " + ctx.from->agency + " and " + ctx.to->agency +
                              " is known by sharedIncidentId " + shared,
                          data_ptr + "/sharedIncidentId");
    return *t;
  };

  if (app == "incident_transfer" && schema == "incident") {
    auto body = incident_to_request(req, d, ctx, not_carried);
    if (auto* e = std::get_if<ucri2_error>(&body)) return *e;
    msg["type"] = "transfer.request";
    msg["to"] = json::array({ctx.to->agency});
    msg["expires_at"] = format_rfc3339(ctx.now + std::chrono::seconds(req.timeout_s));
    msg["body"] = std::move(std::get<json>(body));
    return msg;
  }
  if (app == "notification_text") {
    std::string first;
    std::string lines = notification_lines(d.at("notifications"), first);
    std::string shared = lower(str(d, "sharedIncidentId"));
    msg["type"] = "transfer.request";
    msg["to"] = json::array({ctx.to->agency});
    msg["expires_at"] = format_rfc3339(ctx.now + std::chrono::seconds(req.timeout_s));
    json body = {
        {"category", "notification"},
        {"priority", "routine"},
        {"ask", "for_information"},
        {"summary", fit(first.empty() ? "UCRI2 notification" : first, 200)},
        {"sender_incident", {{"number", shared}, {"system", "UCRI2"}}},
        {"methane",
         {{"major_incident", "not_declared"},
          {"exact_location",
           {{"address", "Not given: UCRI2 notification about incident " + shared}}},
          {"type_of_incident", {{"code", "NOTIFICATION"}, {"text", "UCRI2 notification_text"}}}}},
        {"notes", fit(lines, 2000)}};
    msg["body"] = std::move(body);
    return msg;
  }
  auto t = existing();
  if (auto* e = std::get_if<ucri2_error>(&t)) return *e;
  const auto& facts = std::get<transfer_facts>(t);
  msg["transfer_id"] = facts.transfer_id;
  if (schema == "acknowledgement") {
    std::string cause = str(d, "cause");
    if (d.at("status") == "accepted") {
      msg["type"] = "transfer.accept";
      json body = {{"receiver_incident",
                    {{"number", lower(str(d, "sharedIncidentId"))}, {"system", "UCRI2"}}}};
      if (!cause.empty()) body["note"] = fit(cause, 500);
      msg["body"] = std::move(body);
    } else {
      msg["type"] = "transfer.decline";
      msg["body"] = {{"reason", "other"},
                     {"text", fit(cause.empty() ? "Rejected (no cause given)" : cause, 500)}};
    }
    return msg;
  }
  // completion
  msg["type"] = "transfer.close";
  json body = {
      {"outcome", d.at("status") == "completed_sucessfully" ? "resolved" : "no_longer_required"}};
  std::string text =
      join({d.at("status") == "aborted" ? "Aborted" : "", str(d, "additionalInformation")}, ": ");
  if (!text.empty()) body["text"] = fit(text, 500);
  msg["body"] = std::move(body);
  return msg;
}
}  // namespace

std::variant<json, ucri2_error> to_canonical(const send_request& req, const inbound_context& ctx) {
  std::vector<std::string> not_carried;
  auto made = canonical_of(req, ctx, not_carried);
  auto* msg = std::get_if<json>(&made);
  if (!msg) return made;
  // Where it came from, for the receiving operator: the standard and app, the sender's OID and
  // messageId, and what the send held that the message does not.
  if (req.has_signature)
    not_carried.push_back(
        "a signature (JWS): a UCRM does not check it, and a translated message cannot carry it");
  if (!req.tags.empty()) {
    std::string tags = join(req.tags, ", ");
    not_carried.push_back("tags: " + fit(tags, 900));
  }
  json source = {{"standard", "UCRI2 " + req.payload.app_id + " " + req.payload.app_version},
                 {"sender", req.source}};
  if (!req.message_id.empty()) source["identifier"] = req.message_id;
  if (!not_carried.empty()) source["not_carried"] = not_carried;
  (*msg)["source"] = std::move(source);
  return made;
}

std::optional<json> relay_as_sent(const json& item, std::string_view sent_as) {
  // Kept only after it passed the transport and app schemas, so it is bounded; read within the
  // same bounds all the same (a store is outside the process).
  json sent;
  if (parse_json_bounded(sent_as, sent, json_limits{}, "the kept send") || !sent.is_object() ||
      !sent.contains("payload") || !sent["payload"].is_object())
    return std::nullopt;
  json out = item;
  json payload = json::object();
  for (const char* k : {"appId", "appVersion", "schemaId", "contentType", "data"})
    if (auto it = sent["payload"].find(k); it != sent["payload"].end()) payload[k] = *it;
  out["payload"] = std::move(payload);
  for (const char* k : {"sentDate", "timeout", "ack", "description", "tags", "signature"})
    if (auto it = sent.find(k); it != sent.end()) out[k] = *it;
  return out;
}

namespace {

json item_for(const json& msg, const outbound_context& ctx, const std::string& app,
              const std::string& schema, const json& data) {
  auto [uuid, ack] = split_canonical_id(str(msg, "id"));
  std::string from = str(msg, "from");
  const participant* src = ctx.dir->by_agency(from);
  int timeout = 3600;
  auto sent = parse_rfc3339(str(msg, "sent_at"));
  auto exp = parse_rfc3339(str(msg, "expires_at"));
  if (sent && exp)
    timeout = static_cast<int>(std::clamp<std::int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(*exp - *sent).count(), 10, 86400));
  json item = {{"messageId", uuid},
               {"sentDate", str(msg, "sent_at")},
               {"timeout", timeout},
               {"ack", std::string(to_string(ack))},
               {"source", src ? src->oid : ctx.dir->ucrm_oid},
               {"payload",
                {{"appId", app},
                 {"appVersion", "1.0"},
                 {"schemaId", schema},
                 {"contentType", "application/json"},
                 {"data", data.dump()}}}};
  std::string desc = "Bluelink " + str(msg, "type");
  if (msg.contains("transfer_id")) desc += " " + str(msg, "transfer_id");
  if (!src && from != "bluelink") desc += " from " + from;
  item["description"] = desc;
  return item;
}

std::optional<transfer_facts> facts_of(const json& msg, const outbound_context& ctx) {
  std::string id = str(msg, "transfer_id");
  if (id.empty()) return std::nullopt;
  if (ctx.transfer)
    if (auto t = ctx.transfer(id)) return t;
  transfer_facts t;
  t.transfer_id = id;
  return t;
}

json notification(const json& msg, const outbound_context& ctx, const std::string& text,
                  const std::string& category) {
  auto t = facts_of(msg, ctx);
  json data = {
      {"sharedIncidentId", t ? shared_incident_id(*t) : uuid_from(msg.dump())},
      {"notifications",
       json::array(
           {{{"timestamp", str(msg, "sent_at")}, {"message", text}, {"category", category}}})}};
  return item_for(msg, ctx, "notification_text", "notification", data);
}

}  // namespace

std::optional<json> from_canonical(const json& msg, const outbound_context& ctx) {
  std::string type = str(msg, "type");
  const json body =
      msg.contains("body") && msg.at("body").is_object() ? msg.at("body") : json::object();
  std::string tid = str(msg, "transfer_id");

  if (type == "transfer.request") {
    transfer_facts t;
    t.transfer_id = tid;
    t.requester = str(msg, "from");
    t.requester_number = body.contains("sender_incident")
                             ? str(body.at("sender_incident"), "number")
                             : std::string();
    std::string shared = shared_incident_id(t);
    if (str(body, "category") == "notification") {
      std::string text = join({str(body, "summary"), str(body, "notes")}, "\n");
      json data = {{"sharedIncidentId", shared},
                   {"notifications", json::array({{{"timestamp", str(msg, "sent_at")},
                                                   {"message", text},
                                                   {"category", "notification"}}})}};
      return item_for(msg, ctx, "notification_text", "notification", data);
    }
    const json m = body.value("methane", json::object());
    const json loc = m.value("exact_location", json::object());
    const json type_of = m.value("type_of_incident", json::object());
    json data = {{"sharedIncidentId", shared},
                 {"sentByDispatcherAt", str(msg, "sent_at")},
                 {"flashingLights", str(body, "priority") == "emergency"},
                 {"issue", str(body, "summary")}};
    // A UCRI2 sender's own number came in as "UCRI2 <internalId>"; a Bluelink agency's is its
    // incident number.
    std::string system = body.contains("sender_incident")
                             ? str(body.at("sender_incident"), "system")
                             : std::string();
    if (is_uuid(t.requester_number)) {
      if (system.rfind("UCRI2 ", 0) == 0) data["internalId"] = system.substr(6);
    } else if (!t.requester_number.empty()) {
      data["internalId"] = t.requester_number;
    }
    json classes = json::array();
    if (!str(type_of, "code").empty()) classes.push_back(str(type_of, "code"));
    if (!str(type_of, "agency_code").empty() && str(type_of, "agency_code") != str(type_of, "code"))
      classes.push_back(str(type_of, "agency_code"));
    if (!classes.empty()) data["classifications"] = classes;
    json ml = json::object();
    if (loc.contains("wgs84"))
      ml["coordinate"] = {{"lat", loc.at("wgs84").at("lat")}, {"lon", loc.at("wgs84").at("lon")}};
    std::string street = str(loc, "address");
    if (street.empty() && !str(loc, "postcode").empty())
      street = "Postcode " + str(loc, "postcode");
    if (street.empty() && !str(loc, "what3words").empty())
      street = "what3words " + str(loc, "what3words");
    if (street.empty() && loc.contains("osgr"))
      street = "OS grid " + loc.at("osgr").at("easting").dump() + " " +
               loc.at("osgr").at("northing").dump();
    if (!street.empty() || !ml.contains("coordinate")) {
      json a = {{"street", street.empty() ? std::string("Unknown") : street}};
      std::vector<std::string> extra;
      if (!str(loc, "postcode").empty() && !str(loc, "address").empty())
        extra.push_back("Postcode " + str(loc, "postcode"));
      if (!str(loc, "uprn").empty()) extra.push_back("UPRN " + str(loc, "uprn"));
      if (!extra.empty()) a["additionalInformation"] = join(extra, "; ");
      ml["address"] = a;
    }
    std::string where = join({str(loc, "directions"), str(loc, "rendezvous_point").empty()
                                                          ? std::string()
                                                          : "RVP: " + str(loc, "rendezvous_point")},
                             "; ");
    if (!where.empty()) ml["additionalInformation"] = where;
    data["missionLocation"] = ml;
    std::vector<std::string> info = {
        str(type_of, "text"), "Category: " + str(body, "category") + "; ask: " + str(body, "ask"),
        str(body, "notes")};
    if (body.contains("contact"))
      info.push_back("Contact: " +
                     join({str(body.at("contact"), "name"), str(body.at("contact"), "role"),
                           str(body.at("contact"), "phone")},
                          ", "));
    if (!system.empty() && !is_uuid(t.requester_number)) info.push_back("Sender's CAD: " + system);
    data["additionalInformation"] = join(info, "\n");
    return item_for(msg, ctx, "incident_transfer", "incident", data);
  }

  auto t = facts_of(msg, ctx);
  std::string shared = t ? shared_incident_id(*t) : uuid_from(tid);
  std::string sent = str(msg, "sent_at");
  if (type == "transfer.accept" || type == "transfer.decline") {
    json data = {{"sharedIncidentId", shared},
                 {"acknowledgedByDispatcherAt", sent},
                 {"status", type == "transfer.accept" ? "accepted" : "rejected"}};
    std::string cause;
    if (type == "transfer.accept") {
      std::string number =
          body.contains("receiver_incident") ? str(body.at("receiver_incident"), "number") : "";
      cause =
          join({str(body, "note"), str(body, "resources"),
                body.contains("eta_minutes") ? "ETA " + body.at("eta_minutes").dump() + " minutes"
                                             : std::string(),
                number.empty() ? std::string() : "Their incident: " + number},
               "; ");
    } else {
      cause = str(body, "reason") + ": " + str(body, "text");
    }
    if (!cause.empty()) data["cause"] = cause;
    return item_for(msg, ctx, "incident_transfer", "acknowledgement", data);
  }
  if (type == "transfer.close") {
    std::string outcome = str(body, "outcome");
    json data = {
        {"sharedIncidentId", shared},
        {"completedAt", sent},
        {"status",
         outcome == "resolved" || outcome == "handed_over" ? "completed_sucessfully" : "aborted"}};
    std::string text = join({outcome, str(body, "text")}, ": ");
    data["additionalInformation"] = text;
    return item_for(msg, ctx, "incident_transfer", "completion", data);
  }
  if (type == "receipt" || (type == "error" && str(body, "code") == "bl.transfer.expired")) {
    auto [ref, ack] = split_canonical_id(str(body, "message_id"));
    bool delivered = type == "receipt" && str(body, "status") == "delivered";
    if (type == "receipt" && (!delivered || ack != ack_mode::all)) return std::nullopt;
    if (type == "error" && ack == ack_mode::none) return std::nullopt;
    std::string to_agency = delivered ? str(body, "delivered_to") : (t ? t->responder : "");
    const participant* dest = ctx.dir->by_agency(to_agency);
    json data = {{"refMessageId", ref},
                 {"destination", dest ? dest->oid : ctx.dir->ucrm_oid},
                 {"statusCode", delivered ? 200 : 504}};
    if (!delivered)
      data["statusMessage"] = utf8_prefix("Not committed by the receiver before the timeout", 100);
    return item_for(msg, ctx, "transport_layer_messages", "message_delivery_status", data);
  }
  if (type == "transfer.update")
    return notification(msg, ctx, "Update: " + str(body, "text"), "update");
  if (type == "transfer.received")
    return notification(msg, ctx, "Received and being considered", "received");
  if (type == "transfer.defer")
    return notification(msg, ctx, "Deferred until " + str(body, "until") + ": " + str(body, "text"),
                        "deferred");
  if (type == "transfer.cancel")
    return notification(msg, ctx, "Cancelled by the sender: " + str(body, "reason"), "cancelled");
  if (type == "transfer.alert") return notification(msg, ctx, str(body, "text"), "alert");
  if (type == "error")
    return notification(msg, ctx, str(body, "code") + ": " + str(body, "message"), "error");
  return std::nullopt;
}

std::string make_jwt(const std::string& key, const json& claims) {
  std::string head = base64url(json{{"typ", "JWT"}, {"alg", "HS256"}}.dump());
  std::string body = base64url(claims.dump());
  std::string signing = head + "." + body;
  return signing + "." + hmac_sha256(key, signing);
}

std::optional<json> check_jwt(const std::string& key, std::string_view token, std::int64_t now_s) {
  auto d1 = token.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  auto d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  if (!same(hmac_sha256(key, token.substr(0, d2)), token.substr(d2 + 1))) return std::nullopt;
  auto head = base64_decode(token.substr(0, d1));
  auto body = base64_decode(token.substr(d1 + 1, d2 - d1 - 1));
  if (!head || !body) return std::nullopt;
  json h = json::parse(*head, nullptr, false);
  json c = json::parse(*body, nullptr, false);
  if (!h.is_object() || h.value("alg", std::string()) != "HS256" || !c.is_object())
    return std::nullopt;
  auto exp = c.find("exp");
  if (exp == c.end() || !exp->is_number_integer() || exp->get<std::int64_t>() <= now_s)
    return std::nullopt;
  return c;
}

std::optional<std::pair<std::string, std::string>> basic_credentials(std::string_view header) {
  constexpr std::string_view prefix = "basic ";
  if (header.size() <= prefix.size()) return std::nullopt;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != prefix[i]) return std::nullopt;
  auto raw = header.substr(prefix.size());
  while (!raw.empty() && raw.front() == ' ') raw.remove_prefix(1);
  auto decoded = base64_decode(raw);
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

}  // namespace bl::adapters::ucri2
