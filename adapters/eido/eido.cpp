#include "adapters/eido/eido.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <regex>
#include <utility>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/json_text.hpp"
#include "adapters/cap/xml_reader.hpp"
#include "adapters/text/methane_text.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/safe_regex.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::adapters {

using nlohmann::json;

namespace {

using detail::as_json_number;
using detail::escape_token;
using detail::number_text;
using detail::parse_double;
using detail::str;
using detail::trim;

constexpr const char* ext_key = "bluelinkCanonical";
constexpr const char* uuid_urn = "urn:uuid:";
constexpr const char* incident_urn = "urn:emergency:uid:incidentid:";
constexpr const char* role_sender = "Originating";
constexpr const char* role_recipient = "Requested";
constexpr const char* location_type = "CurrentIncident";
constexpr int max_json_depth = 64;

const char* const ns_pidf = "urn:ietf:params:xml:ns:pidf";
const char* const ns_gml = "http://www.opengis.net/gml";
const char* const ns_gs = "http://www.opengis.net/pidflo/1.0";
const char* const ns_civic = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr";

// Bluelink message type -> EIDO messageKind and incident status (IANA Incident Status registry).
struct type_row {
  const char* type;
  const char* kind;
  const char* status;
};
const type_row types[] = {
    {"transfer.request", "New", "Pending"},
    {"transfer.update", "Update", "Active"},
    {"transfer.accept", "Update", "Active"},
    {"transfer.cancel", "Cancel", "Closed"},
    {"transfer.close", "Close", "Closed"},
    // The replies and the gateway's own messages about a transfer: an EIDO CAD on the conveyance
    // must see a decline or an overdue alert as surely as an accept. They are incident updates
    // whose exact type is incidentStatusInternalText; the content rides in the extension.
    {"transfer.received", "Update", "Pending"},
    {"transfer.decline", "Update", "Active"},
    {"transfer.defer", "Update", "Pending"},
    {"transfer.alert", "Update", "Active"},
    {"receipt", "Update", "Pending"},
};

const std::pair<const char*, int> priorities[] = {{"emergency", 1}, {"urgent", 2}, {"routine", 3}};

const std::regex& agency_re() {
  static const std::regex r = make_safe_regex("^[a-z0-9][a-z0-9-]{1,62}$");
  return r;
}
const std::regex& key_re() {
  static const std::regex r = make_safe_regex("^[A-Za-z0-9._~:-]{1,128}$");
  return r;
}
const std::regex& uuid_re() {
  static const std::regex r =
      make_safe_regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return r;
}
const std::regex& transfer_incident_re() {
  static const std::regex r =
      make_safe_regex("^urn:emergency:uid:incidentid:(T-[0-9]{8}-[0-9]{6}):bluelink$");
  return r;
}

// At most `max_bytes` bytes, never cutting a UTF-8 sequence.
std::string clip(const std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// The UUID of a canonical message id: the key itself when it is a UUID (the recommended form),
// otherwise one derived from the SHA-256 of the whole id (RFC 9562 version 8, so it can never
// collide with a random one by construction of the version nibble).
std::string uuid_of(const std::string& id) {
  auto colon = id.find(':');
  std::string key = colon == std::string::npos ? id : id.substr(colon + 1);
  if (std::regex_match(key, uuid_re())) return key;
  std::string h = sha256_hex(id).substr(0, 32);
  h[12] = '8';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

std::string agency_type(const std::string& agency) {
  if (agency.find("police") != std::string::npos) return "police";
  if (agency.find("fire") != std::string::npos) return "fire";
  if (agency.find("ambulance") != std::string::npos || agency.find("ems") != std::string::npos)
    return "ems";
  return "other";
}

const json* first_incident(const json& doc) {
  auto it = doc.find("incidentComponent");
  if (it == doc.end()) return nullptr;
  if (it->is_object()) return &*it;
  if (it->is_array() && !it->empty() && (*it)[0].is_object()) return &(*it)[0];
  return nullptr;
}

std::string incident_pointer(const json& doc) {
  return doc.contains("incidentComponent") && doc["incidentComponent"].is_array()
             ? "/incidentComponent/0"
             : "/incidentComponent";
}

// ---- canonical <-> flat leaves --------------------------------------------------------------

using leaf_list = std::vector<std::pair<std::string, json>>;

// Leaves by JSON pointer in document order; an empty object or array is a leaf of its own.
void flatten(leaf_list& out, const std::string& pointer, const json& v) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [k, item] : v.items()) flatten(out, pointer + "/" + escape_token(k), item);
  } else if (v.is_array() && !v.empty()) {
    for (std::size_t i = 0; i < v.size(); ++i)
      flatten(out, pointer + "/" + std::to_string(i), v[i]);
  } else {
    out.emplace_back(pointer, v);
  }
}

std::optional<std::vector<std::string>> split_pointer(const std::string& p) {
  if (p.empty() || p[0] != '/') return std::nullopt;
  std::vector<std::string> tokens;
  std::size_t i = 1;
  while (true) {
    auto j = p.find('/', i);
    std::string raw = p.substr(i, j == std::string::npos ? std::string::npos : j - i);
    std::string tok;
    for (std::size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '~') {
        tok += raw[k];
        continue;
      }
      if (k + 1 >= raw.size() || (raw[k + 1] != '0' && raw[k + 1] != '1')) return std::nullopt;
      tok += raw[k + 1] == '0' ? '~' : '/';
      ++k;
    }
    tokens.push_back(std::move(tok));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return tokens;
}

bool is_index(const std::string& t) {
  return !t.empty() && t.size() <= 6 &&
         std::all_of(t.begin(), t.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         (t == "0" || t[0] != '0');
}

translate_error bad_extension(const std::string& pointer, const std::string& why) {
  return make_translate_error("bl.eido.bad_value",
                              "/" + std::string(ext_key) + "/" + escape_token(pointer) + " " + why);
}

// Sets one extension value into the message under construction; null removes the member.
std::optional<translate_error> apply_extension(json& msg, const std::string& pointer,
                                               const json& value) {
  auto tokens = split_pointer(pointer);
  if (!tokens) return bad_extension(pointer, "is not a JSON pointer");
  json* cur = &msg;
  for (std::size_t i = 0; i < tokens->size(); ++i) {
    const std::string& tok = (*tokens)[i];
    const bool last = i + 1 == tokens->size();
    if (cur->is_null()) {
      if (value.is_null()) return std::nullopt;  // nothing to remove
      *cur = is_index(tok) ? json::array() : json::object();
    }
    json* next = nullptr;
    if (cur->is_array()) {
      if (!is_index(tok)) return bad_extension(pointer, "uses '" + tok + "' as an array index");
      auto n = static_cast<std::size_t>(std::stoul(tok));
      if (last && value.is_null()) {
        if (n < cur->size()) cur->erase(n);
        return std::nullopt;
      }
      if (n > cur->size()) return bad_extension(pointer, "skips array items (index " + tok + ")");
      if (n == cur->size()) cur->push_back(nullptr);
      next = &(*cur)[n];
    } else if (cur->is_object()) {
      if (last && value.is_null()) {
        cur->erase(tok);
        return std::nullopt;
      }
      next = &(*cur)[tok];
    } else {
      return bad_extension(pointer, "goes through a value that is not an object or array");
    }
    cur = next;
  }
  *cur = value;
  return std::nullopt;
}

// Extension pointers in an order where every array index comes after the ones before it.
bool pointer_less(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] == b[i]) continue;
    if (is_index(a[i]) && is_index(b[i])) return std::stoul(a[i]) < std::stoul(b[i]);
    return a[i] < b[i];
  }
  return a.size() < b.size();
}

// ---- PIDF-LO ---------------------------------------------------------------------------------

std::string pidf_lo(const std::string& from, const json& wgs84) {
  const std::string pos = number_text(wgs84["lat"]) + " " + number_text(wgs84["lon"]);
  std::string shape;
  if (wgs84.contains("accuracy_m"))
    shape = "<gs:Circle srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>" + pos +
            "</gml:pos><gs:radius uom=\"urn:ogc:def:uom:EPSG::9001\">" +
            number_text(wgs84["accuracy_m"]) + "</gs:radius></gs:Circle>";
  else
    shape = "<gml:Point srsName=\"urn:ogc:def:crs:EPSG::4326\"><gml:pos>" + pos +
            "</gml:pos></gml:Point>";
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><presence xmlns=\"" + std::string(ns_pidf) +
         "\" xmlns:gp=\"urn:ietf:params:xml:ns:pidf:geopriv10\" xmlns:gml=\"" + ns_gml +
         "\" xmlns:gs=\"" + ns_gs + "\" entity=\"pres:" + xml_escape(from) +
         "@bluelink\"><tuple id=\"incident\"><status><gp:geopriv><gp:location-info>" + shape +
         "</gp:location-info><gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv></"
         "status></tuple></presence>";
}

const xml_element* find_element(const xml_element& e, const char* ns, const char* name) {
  if (e.ns == ns && e.name == name) return &e;
  for (const auto& c : e.children)
    if (const xml_element* f = find_element(c, ns, name)) return f;
  return nullptr;
}

// Reads the point (and circle radius) and the civic address of a PIDF-LO document into `loc`.
std::optional<translate_error> read_pidf(const std::string& document, const std::string& pointer,
                                         json& loc) {
  xml_limits limits;
  limits.max_bytes = 256 * 1024;
  auto parsed = read_xml(document, limits);
  if (auto* e = std::get_if<translate_error>(&parsed))
    return make_translate_error("bl.eido.bad_value", pointer +
                                                         " is not a readable PIDF-LO "
                                                         "document: " +
                                                         e->code + ": " + e->message);
  const xml_element& root = std::get<xml_element>(parsed);
  const xml_element* shape = find_element(root, ns_gs, "Circle");
  if (!shape) shape = find_element(root, ns_gml, "Point");
  if (shape) {
    const xml_element* pos = shape->first(ns_gml, "pos");
    std::string t = pos ? trim(pos->text) : std::string();
    auto space = t.find_first_of(" \t\r\n");
    std::optional<double> lat, lon;
    if (space != std::string::npos) {
      lat = parse_double(t.substr(0, space));
      lon = parse_double(trim(t.substr(space + 1)));
    }
    if (!lat || !lon || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180)
      return make_translate_error("bl.eido.bad_value",
                                  pointer + ": <" + shape->name + "> at " + shape->where() +
                                      " has <gml:pos> '" + t +
                                      "', not \"lat lon\" (WGS84, lat -90..90, lon -180..180)");
    json w = {{"lat", as_json_number(*lat)}, {"lon", as_json_number(*lon)}};
    if (shape->name == "Circle") {
      const xml_element* r = shape->first(ns_gs, "radius");
      auto radius = r ? parse_double(trim(r->text)) : std::nullopt;
      if (!radius || *radius < 0)
        return make_translate_error("bl.eido.bad_value",
                                    pointer + ": <gs:Circle> at " + shape->where() +
                                        " has no <gs:radius> with a number of metres >= 0");
      w["accuracy_m"] = as_json_number(*radius);
    }
    loc["wgs84"] = std::move(w);
  }
  if (const xml_element* civic = find_element(root, ns_civic, "civicAddress")) {
    auto part = [&](const char* name) {
      const xml_element* e = civic->first(ns_civic, name);
      return e ? trim(e->text) : std::string();
    };
    std::string street;
    for (const char* k : {"HNO", "HNS", "PRD", "RD", "STS", "POD"})
      if (auto v = part(k); !v.empty()) street += (street.empty() ? "" : " ") + v;
    std::string text;
    for (const std::string& v : {street, part("LOC"), part("A6"), part("A3"), part("A2"),
                                 part("A1"), part("PC"), part("country")})
      if (!v.empty()) text += (text.empty() ? "" : ", ") + v;
    if (!text.empty()) loc["address"] = clip(text, 300);
  }
  return std::nullopt;
}

// ---- the EIDO members read exactly (shared by export's check and import) ---------------------

// The canonical fields an EIDO written by Bluelink carries in EIDO's own members. What it cannot
// read it leaves out; the extension supplies the rest.
json read_standard(const json& doc) {
  json msg = json::object();
  const std::string from = str(doc, "sendingSystemIdentifier");
  std::string mid = str(doc, "eidoMessageIdentifier");
  if (mid.rfind(uuid_urn, 0) == 0) mid.erase(0, std::string(uuid_urn).size());
  if (!from.empty() && !mid.empty()) msg["id"] = from + ":" + mid;
  const json* inc = first_incident(doc);
  std::string type;
  if (inc && inc->contains("incidentStatusInternalText") &&
      (*inc)["incidentStatusInternalText"].is_array() &&
      !(*inc)["incidentStatusInternalText"].empty() &&
      (*inc)["incidentStatusInternalText"][0].is_string())
    type = (*inc)["incidentStatusInternalText"][0].get<std::string>();
  if (!type.empty()) msg["type"] = type;
  if (!from.empty()) msg["from"] = from;
  if (doc.contains("agencyComponent") && doc["agencyComponent"].is_array()) {
    json to = json::array();
    for (const auto& a : doc["agencyComponent"]) {
      if (!a.is_object() || !a.contains("agencyRoleDescriptionRegistryText")) continue;
      const json& roles = a["agencyRoleDescriptionRegistryText"];
      if (roles.is_array() &&
          std::find(roles.begin(), roles.end(), json(role_recipient)) != roles.end())
        to.push_back(str(a, "$id"));
    }
    if (!to.empty()) msg["to"] = std::move(to);
  }
  if (auto t = str(doc, "lastUpdateTimeStamp"); !t.empty()) msg["sent_at"] = t;
  json body = json::object();
  if (inc) {
    std::smatch m;
    std::string iid = str(*inc, "$id");
    if (std::regex_match(iid, m, transfer_incident_re())) msg["transfer_id"] = m[1].str();
    if (auto n = str(*inc, "incidentTrackingIdentifier"); !n.empty()) {
      if (type == "transfer.request" || type == "transfer.update")
        body["sender_incident"]["number"] = n;
      else if (type == "transfer.accept" || type == "transfer.decline" ||
               type == "transfer.defer" || type == "transfer.received")
        body["receiver_incident"]["number"] = n;
    }
    auto p = str(*inc, "incidentPriorityInternalText");
    for (const auto& [name, n] : priorities)
      if (p == name) body["priority"] = p;
    auto code = str(*inc, "incidentTypeCommonRegistryText");
    if (!code.empty()) {
      json t = {{"code", code}};
      if (auto ac = str(*inc, "incidentTypeInternalCode"); !ac.empty()) t["agency_code"] = ac;
      t["text"] = str(*inc, "incidentTypeInternalText");
      body["methane"]["type_of_incident"] = std::move(t);
    }
  }
  if (doc.contains("locationComponent") && doc["locationComponent"].is_array()) {
    for (const auto& l : doc["locationComponent"]) {
      if (str(l, "locationTypeDescriptionRegistryText") != location_type) continue;
      json loc = json::object();
      if (auto v = str(l, "locationByValue"); !v.empty()) {
        json geo = json::object();
        if (!read_pidf(v, "", geo) && geo.contains("wgs84")) loc["wgs84"] = geo["wgs84"];
      }
      if (auto a = str(l, "locationDescriptionText"); !a.empty()) loc["address"] = a;
      if (!loc.empty()) body["methane"]["exact_location"] = std::move(loc);
      break;
    }
  }
  msg["body"] = std::move(body);
  return msg;
}

}  // namespace

// ---- export -----------------------------------------------------------------------------------

std::variant<json, translate_error> eido_export(const json& msg) {
  const std::string type = str(msg, "type");
  const type_row* row = nullptr;
  for (const auto& r : types)
    if (type == r.type) row = &r;
  if (!row)
    return make_translate_error(
        "bl.eido.unsupported_type",
        "EIDO export takes the transfer messages (request, update, accept, decline, defer, "
        "received, cancel, close, alert) and receipts; /type is '" +
            type + "'");
  if (!msg.contains("body") || !msg["body"].is_object())
    return make_translate_error("bl.eido.missing_field", "the message has no object /body");
  const json& body = msg["body"];
  const std::string id = str(msg, "id");
  const std::string from = str(msg, "from");
  const std::string sent = str(msg, "sent_at");
  const std::string uuid = uuid_of(id);
  auto component_id = [&](const std::string& what) {
    return std::string(uuid_urn) + uuid_of(id + "#" + what);
  };

  json eido = json::object();
  eido["$id"] = uuid_urn + uuid;
  eido["eidoMessageIdentifier"] = uuid_urn + uuid;
  eido["sendingSystemIdentifier"] = from;
  eido["lastUpdateTimeStamp"] = sent;
  eido["messageKind"] = row->kind;

  json inc = json::object();
  const std::string tid = str(msg, "transfer_id");
  inc["$id"] = incident_urn + (tid.empty() ? uuid + ":" + from : tid + ":bluelink");
  inc["lastUpdateTimeStamp"] = sent;
  const bool reply = type == "transfer.accept" || type == "transfer.decline" ||
                     type == "transfer.defer" || type == "transfer.received";
  const char* number_key = reply ? "receiver_incident" : "sender_incident";
  if (body.contains(number_key))
    inc["incidentTrackingIdentifier"] = str(body[number_key], "number");
  if (body.contains("methane") && body["methane"].contains("type_of_incident")) {
    const json& t = body["methane"]["type_of_incident"];
    inc["incidentTypeCommonRegistryText"] = str(t, "code");
    if (t.contains("agency_code")) inc["incidentTypeInternalCode"] = str(t, "agency_code");
    inc["incidentTypeInternalText"] = str(t, "text");
  }
  inc["incidentStatusCommonRegistryText"] = json::array({row->status});
  inc["incidentStatusInternalText"] = json::array({type});
  if (auto p = str(body, "priority"); !p.empty())
    for (const auto& [name, n] : priorities)
      if (p == name) {
        inc["incidentCommonPriorityNumber"] = n;
        inc["incidentPriorityInternalText"] = p;
      }

  json agencies = json::array();
  agencies.push_back({{"$id", from},
                      {"lastUpdateTimeStamp", sent},
                      {"agencyRoleDescriptionRegistryText", json::array({role_sender})},
                      {"agencyType", json::array({agency_type(from)})},
                      {"incidentOwningAgencyIndicator", type == "transfer.request"}});
  if (msg.contains("to"))
    for (const auto& t : msg["to"])
      if (t.is_string())
        agencies.push_back({{"$id", t},
                            {"lastUpdateTimeStamp", sent},
                            {"agencyRoleDescriptionRegistryText", json::array({role_recipient})},
                            {"agencyType", json::array({agency_type(t.get<std::string>())})}});

  if (body.contains("methane") && body["methane"].contains("exact_location")) {
    const json& loc = body["methane"]["exact_location"];
    json l = {{"$id", component_id("location")},
              {"lastUpdateTimeStamp", sent},
              {"locationTypeDescriptionRegistryText", location_type}};
    if (loc.contains("wgs84")) l["locationByValue"] = pidf_lo(from, loc["wgs84"]);
    if (loc.contains("address")) l["locationDescriptionText"] = str(loc, "address");
    inc["locationReference"] = json::array({{{"$ref", l["$id"]}}});
    eido["locationComponent"] = json::array({std::move(l)});
  }

  // Notes: the M/ETHANE read-out for a CAD operator, then the message's own free text.
  json notes = json::array();
  if (type == "transfer.request" || type == "transfer.update" || type == "transfer.cancel")
    notes.push_back({{"$id", component_id("methane")},
                     {"lastUpdateTimeStamp", sent},
                     {"notesActionComments", methane_text(msg)}});
  for (const char* k : {"notes", "text", "reason", "note"})
    if (auto v = str(body, k); !v.empty())
      notes.push_back(
          {{"$id", component_id(k)}, {"lastUpdateTimeStamp", sent}, {"notesActionComments", v}});
  if (!notes.empty()) {
    json refs = json::array();
    for (const auto& n : notes) refs.push_back({{"$ref", n["$id"]}});
    inc["notesReference"] = std::move(refs);
  }

  if (body.contains("contact")) {
    const json& c = body["contact"];
    json person = {{"$id", component_id("contact")},
                   {"lastUpdateTimeStamp", sent},
                   {"personIncidentRoleRegistryText", json::array({"Contact"})}};
    if (c.contains("name"))
      person["ncPersonComponent"] = {{"PersonName", {{"PersonFullName", str(c, "name")}}}};
    inc["personReference"] = json::array({{{"$ref", person["$id"]}}});
    eido["personComponent"] = json::array({std::move(person)});
  }

  eido["incidentComponent"] = json::array({std::move(inc)});
  eido["agencyComponent"] = std::move(agencies);
  if (!notes.empty()) eido["notesComponent"] = std::move(notes);

  // Whatever EIDO's own members do not give back exactly travels in the extension.
  leaf_list want, have;
  flatten(want, "", msg);
  flatten(have, "", read_standard(eido));
  json have_map = json::object();
  for (auto& [p, v] : have) have_map[p] = v;
  json ext = json::object();
  for (auto& [p, v] : want) {
    auto it = have_map.find(p);
    if (it == have_map.end() || *it != v || it->is_number_float() != v.is_number_float())
      ext[p] = v;
    if (it != have_map.end()) have_map.erase(it);
  }
  for (auto& [p, v] : have_map.items()) ext[p] = nullptr;  // given by EIDO, absent in the message
  eido[ext_key] = std::move(ext);
  return eido;
}

// ---- import -----------------------------------------------------------------------------------

namespace {

translate_error missing_field(const std::string& pointer, const std::string& why) {
  return make_translate_error("bl.eido.missing_field", pointer + " " + why);
}

translate_error not_derivable(const std::string& field, const std::string& why) {
  return make_translate_error("bl.eido.not_derivable",
                              "cannot derive " + field + " from the EIDO: " + why);
}

// Depth of the deepest nesting, scanning outside strings; stops counting past `limit`.
int nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > limit) return deepest;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

const std::string* string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

// The id part of "urn:emergency:uid:incidentid:<id>:<domain>", else empty.
std::string incident_urn_id(const std::string& urn) {
  if (urn.rfind(incident_urn, 0) != 0) return {};
  std::string rest = urn.substr(std::string(incident_urn).size());
  auto colon = rest.find(':');
  return colon == std::string::npos ? std::string() : rest.substr(0, colon);
}

// A partner's EIDO (no Bluelink extension): a sensible transfer.request.
std::variant<json, translate_error> import_partner(const json& doc,
                                                   const eido_import_context& ctx) {
  json msg = json::object();
  std::string from = ctx.from;
  const std::string sender = str(doc, "sendingSystemIdentifier");
  if (from.empty()) {
    if (sender.empty())
      return not_derivable("/from",
                           "/sendingSystemIdentifier is missing and the conveyance named no "
                           "sending agency");
    if (!std::regex_match(sender, agency_re()))
      return not_derivable("/from", "/sendingSystemIdentifier '" + sender +
                                        "' is not a Bluelink agency id (2-63 lower-case letters, "
                                        "digits and hyphens)");
    from = sender;
  }
  std::string key = str(doc, "eidoMessageIdentifier");
  std::string key_at = "/eidoMessageIdentifier";
  if (key.empty()) {
    key = str(doc, "$id");
    key_at = "/$id";
  }
  if (key.rfind(uuid_urn, 0) == 0) key.erase(0, std::string(uuid_urn).size());
  if (!std::regex_match(key, key_re()))
    return not_derivable("/id", key_at + " '" + key +
                                    "' has characters outside [A-Za-z0-9._~:-] or is longer than "
                                    "128");
  msg["id"] = from + ":" + key;
  const std::string type =
      ctx.type.empty() || ctx.type == "transfer.alert" ? "transfer.request" : ctx.type;
  if (type != "transfer.request")
    return make_translate_error("bl.eido.bad_value",
                                "an EIDO without the Bluelink extension (/" + std::string(ext_key) +
                                    ") can only become a transfer.request; the conveyance asked "
                                    "for '" +
                                    type + "'");
  msg["type"] = type;
  msg["from"] = from;

  json to = json::array();
  for (const auto& t : ctx.to) to.push_back(t);
  if (to.empty() && doc.contains("agencyComponent"))
    for (const auto& a : doc["agencyComponent"]) {
      std::string aid = str(a, "$id");
      if (aid != from && aid != sender && std::regex_match(aid, agency_re())) to.push_back(aid);
    }
  if (to.empty())
    return not_derivable("/to",
                         "no /agencyComponent/*/$id other than the sender is a Bluelink agency "
                         "id, and the conveyance named no recipient");
  if (to.size() > 1)
    return not_derivable("/to", "the EIDO names " + std::to_string(to.size()) +
                                    " receiving agencies (" + to.dump() +
                                    "); a transfer goes to exactly one");
  msg["to"] = to;
  msg["sent_at"] = str(doc, "lastUpdateTimeStamp");

  const json* inc = first_incident(doc);
  const json empty = json::object();
  const json& i = inc ? *inc : empty;
  const std::string ip = incident_pointer(doc);
  json body = json::object();

  // The receiving agency's type decides what is asked of it.
  std::string rtype;
  if (doc.contains("agencyComponent"))
    for (const auto& a : doc["agencyComponent"])
      if (str(a, "$id") == to[0].get<std::string>() && a.contains("agencyType") &&
          a["agencyType"].is_array() && !a["agencyType"].empty() && a["agencyType"][0].is_string())
        rtype = a["agencyType"][0].get<std::string>();
  if (rtype.empty()) rtype = agency_type(to[0].get<std::string>());
  const bool awareness = ctx.type == "transfer.alert";
  std::string category =
      awareness                                   ? "notification"
      : rtype.find("police") != std::string::npos ? "police.scene_security"
      : rtype.find("fire") != std::string::npos   ? "fire.rescue"
      : rtype.find("ems") != std::string::npos || rtype.find("ambulance") != std::string::npos
          ? "ambulance.casualty_care"
          : "notification";
  body["category"] = category;
  body["ask"] = category == "notification" ? "for_information" : "attend";

  std::string priority;
  if (auto it = i.find("incidentCommonPriorityNumber"); it != i.end() && it->is_number()) {
    // Compared as a double: a huge or fractional number must not overflow a conversion.
    const double n = it->get<double>();
    priority = n <= 1 ? "emergency" : n <= 2 ? "urgent" : "routine";
  }
  if (priority.empty()) {
    auto p = str(i, "incidentPriorityInternalText");
    for (const auto& [name, n] : priorities)
      if (p == name) priority = p;
  }
  std::string call_type;
  if (doc.contains("callComponent") && doc["callComponent"].is_array())
    for (const auto& c : doc["callComponent"])
      if (auto t = str(c, "standardPrimaryCallType"); !t.empty() && call_type.empty())
        call_type = t;
  if (priority.empty()) priority = call_type == "emergency" ? "emergency" : "routine";
  body["priority"] = priority;

  // Incident type: the registry text, else the call's type.
  std::string code = trim(str(i, "incidentTypeCommonRegistryText"));
  std::string text = trim(str(i, "incidentTypeInternalText"));
  if (code.empty() && !call_type.empty()) code = "CALL-" + call_type;
  if (code.empty())
    return not_derivable("/body/methane/type_of_incident",
                         ip + "/incidentTypeCommonRegistryText is missing and no "
                              "/callComponent/*/standardPrimaryCallType gives the kind of call");
  if (text.empty()) text = inc ? code : "Call transferred by EIDO (" + call_type + " call)";
  json toi = {{"code", clip(code, 40)}, {"text", clip(text, 500)}};
  if (auto ac = trim(str(i, "incidentTypeInternalCode")); !ac.empty())
    toi["agency_code"] = clip(ac, 40);

  std::string number = trim(str(i, "incidentTrackingIdentifier"));
  std::string number_from = ip + "/incidentTrackingIdentifier";
  if (number.empty()) number = incident_urn_id(str(i, "$id"));
  if (number.empty()) number = incident_urn_id(str(doc, "$id"));
  if (number.empty())
    return not_derivable("/body/sender_incident/number",
                         ip + "/incidentTrackingIdentifier is missing and neither " + ip +
                             "/$id nor /$id is an urn:emergency:uid:incidentid: URN");
  if (number.size() > 40)
    return not_derivable("/body/sender_incident/number",
                         number_from + " '" + number + "' is longer than 40 characters");
  std::string system = sender.empty() ? from : sender;
  body["sender_incident"] = {{"number", number}, {"system", clip("EIDO " + system, 60)}};

  json loc = json::object();
  if (doc.contains("locationComponent")) {
    const json& ls = doc["locationComponent"];
    // The incident's location first, then any other that has one by value.
    for (int pass = 0; pass < 2 && loc.empty(); ++pass)
      for (std::size_t k = 0; k < ls.size() && loc.empty(); ++k) {
        const json& l = ls[k];
        if (pass == 0 && str(l, "locationTypeDescriptionRegistryText") != location_type) continue;
        const std::string lp = "/locationComponent/" + std::to_string(k);
        if (auto v = str(l, "locationByValue"); !v.empty())
          if (auto e = read_pidf(v, lp + "/locationByValue", loc)) return *e;
        if (auto a = trim(str(l, "locationDescriptionText")); !a.empty())
          loc["address"] = clip(a, 300);
      }
  }
  if (loc.empty())
    return not_derivable("/body/methane/exact_location",
                         "no /locationComponent has a locationByValue (PIDF-LO point, circle or "
                         "civic address) or a locationDescriptionText");

  body["methane"] = {{"major_incident", "not_declared"},
                     {"exact_location", std::move(loc)},
                     {"type_of_incident", std::move(toi)}};
  std::string notes;
  if (doc.contains("notesComponent"))
    for (const auto& n : doc["notesComponent"])
      if (auto t = trim(str(n, "notesActionComments")); !t.empty())
        notes += (notes.empty() ? "" : "\n") + t;
  std::string summary = text;
  if (!sender.empty()) summary += " (EIDO from " + sender + ")";
  body["summary"] = clip(summary, 200);
  if (!notes.empty()) body["notes"] = clip(notes, 2000);
  msg["body"] = std::move(body);
  return msg;
}

}  // namespace

std::variant<json, translate_error> eido_import(std::string_view json_text,
                                                const schema_set& schemas,
                                                const eido_import_context& ctx) {
  if (json_text.size() > eido_max_bytes)
    return make_translate_error("bl.eido.too_large",
                                "the EIDO is " + std::to_string(json_text.size()) +
                                    " bytes; the limit is " + std::to_string(eido_max_bytes));
  if (int d = nesting_depth(json_text, max_json_depth); d > max_json_depth)
    return make_translate_error("bl.request.malformed_json",
                                "the EIDO nests objects and arrays deeper than " +
                                    std::to_string(max_json_depth) + " levels");
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::exception& e) {
    // parse_error for the syntax, out_of_range for a number too large for a double (1E400).
    return make_translate_error("bl.request.malformed_json",
                                "the EIDO is not JSON: " + std::string(e.what()));
  }
  if (!doc.is_object())
    return make_translate_error("bl.eido.invalid", "the EIDO must be a JSON object (at ''), not " +
                                                       std::string(doc.type_name()));
  if (auto e = schemas.validate("eido/eido", doc))
    return make_translate_error(
        "bl.eido.invalid", "the EIDO does not match schemas/eido/eido.schema.json: " + e->message +
                               " (at '" + e->pointer + "')");

  json msg;
  if (doc.contains(ext_key)) {
    // Bluelink's own EIDO: EIDO's members, then the extension, give the message back exactly.
    for (const char* k : {"sendingSystemIdentifier", "eidoMessageIdentifier"})
      if (!string_at(doc, k))
        return missing_field("/" + std::string(k),
                             "is required in an EIDO that carries /" + std::string(ext_key));
    if (!doc[ext_key].is_object())
      return make_translate_error("bl.eido.bad_value", "/" + std::string(ext_key) +
                                                           " must be an object of JSON "
                                                           "pointer -> value");
    msg = read_standard(doc);
    std::vector<std::pair<std::vector<std::string>, const json*>> entries;
    for (const auto& [p, v] : doc[ext_key].items()) {
      auto tokens = split_pointer(p);
      if (!tokens) return bad_extension(p, "is not a JSON pointer");
      entries.emplace_back(std::move(*tokens), &v);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const auto& a, const auto& b) { return pointer_less(a.first, b.first); });
    for (const auto& [tokens, v] : entries) {
      std::string p;
      for (const auto& t : tokens) p += "/" + escape_token(t);
      if (auto e = apply_extension(msg, p, *v)) return *e;
    }
    if (!ctx.from.empty() && str(msg, "from") != ctx.from)
      return make_translate_error("bl.eido.bad_value",
                                  "/sendingSystemIdentifier '" + str(msg, "from") +
                                      "' is not the authenticated agency '" + ctx.from + "'");
    // requestAwareness (ctx.type transfer.alert) carries a notification: a transfer.request.
    const std::string wanted = ctx.type == "transfer.alert" ? "transfer.request" : ctx.type;
    if (!wanted.empty() && str(msg, "type") != wanted)
      return make_translate_error("bl.eido.bad_value",
                                  "the EIDO is a " + str(msg, "type") +
                                      " (/incidentComponent/0/incidentStatusInternalText/0) but "
                                      "the conveyance carried it as " +
                                      wanted);
    if (!ctx.to.empty() && str(msg, "type") == "transfer.request") msg["to"] = ctx.to;
  } else {
    auto r = import_partner(doc, ctx);
    if (auto* e = std::get_if<translate_error>(&r)) return *e;
    msg = std::move(std::get<json>(r));
  }
  if (auto e = check_message(msg, schemas)) return *e;
  return msg;
}

}  // namespace bl::adapters
