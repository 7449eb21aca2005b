#include "adapters/eido/eido.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>
#include <regex>
#include <utility>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/cap/cap_partner.hpp"
#include "adapters/cap/json_text.hpp"
#include "adapters/cap/xml_reader.hpp"
#include "adapters/text/methane_text.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/json_bounded.hpp"
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

// The agency an EIDO component says updated it: updatedByAgencyReference.$ref.
std::string updated_by(const json& component) {
  auto it = component.find("updatedByAgencyReference");
  return it != component.end() && it->is_object() ? str(*it, "$ref") : std::string();
}

const json* incident_of(const json& doc) {
  auto it = doc.find("incidentComponent");
  return it != doc.end() && it->is_object() ? &*it : nullptr;
}

// The canonical fields an EIDO written by Bluelink carries in EIDO's own members. What it cannot
// read it leaves out; the extension supplies the rest (the message id among them: NENA's EIDO
// has no member for one message, only for the incident).
json read_standard(const json& doc) {
  json msg = json::object();
  const std::string from = updated_by(doc);
  const json* inc = incident_of(doc);
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
  {
    std::smatch m;
    std::string iid = str(doc, "$id");
    if (std::regex_match(iid, m, transfer_incident_re())) msg["transfer_id"] = m[1].str();
  }
  json body = json::object();
  if (inc) {
    if (auto n = str(*inc, "internalIncidentId"); !n.empty()) {
      if (type == "transfer.request" || type == "transfer.update")
        body["sender_incident"]["number"] = n;
      else if (type == "transfer.accept" || type == "transfer.decline" ||
               type == "transfer.defer" || type == "transfer.received")
        body["receiver_incident"]["number"] = n;
    }
    auto p = str(*inc, "incidentPriorityInternalText");
    for (const auto& [name, n] : priorities)
      if (p == name) body["priority"] = p;
    // A message without an incident type says "Unknown" and writes no internal text.
    auto code = str(*inc, "incidentTypeCommonRegistryText");
    if (!code.empty() && inc->contains("incidentTypeInternalText")) {
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
  const json by_sender = {{"$ref", from}};
  // NENA's prologue, on the document and on every component.
  auto component = [&](const std::string& cid) {
    return json{
        {"$id", cid}, {"lastUpdateTimeStamp", sent}, {"updatedByAgencyReference", by_sender}};
  };
  auto component_id = [&](const std::string& what) {
    return std::string(uuid_urn) + uuid_of(id + "#" + what);
  };

  // The document's $id is the incident tracking identifier: the transfer once the gateway has
  // numbered it, else one of the sender's own.
  const std::string tid = str(msg, "transfer_id");
  json eido =
      component(incident_urn +
                (tid.empty() ? uuid + ":" + from : tid + ":" + std::string(eido_issuing_element)));
  eido["eidoVersion"] = "1.0";
  eido["issuingElementIdentification"] = std::string(eido_issuing_element);

  json inc = component(component_id("incident"));
  const bool reply = type == "transfer.accept" || type == "transfer.decline" ||
                     type == "transfer.defer" || type == "transfer.received";
  const char* number_key = reply ? "receiver_incident" : "sender_incident";
  if (body.contains(number_key)) inc["internalIncidentId"] = str(body[number_key], "number");
  if (body.contains("methane") && body["methane"].contains("type_of_incident")) {
    const json& t = body["methane"]["type_of_incident"];
    inc["incidentTypeCommonRegistryText"] = str(t, "code");
    if (t.contains("agency_code")) inc["incidentTypeInternalCode"] = str(t, "agency_code");
    inc["incidentTypeInternalText"] = str(t, "text");
  } else {
    // NENA requires an incident type; a reply or a gateway notice does not repeat it.
    inc["incidentTypeCommonRegistryText"] = "Unknown";
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
  {
    json a = component(from);
    a["agencyRoleDescriptionRegistryText"] = json::array({role_sender});
    a["agencyType"] = json::array({agency_type(from)});
    a["incidentOwningAgencyIndicator"] = type == "transfer.request";
    agencies.push_back(std::move(a));
  }
  if (msg.contains("to"))
    for (const auto& t : msg["to"])
      if (t.is_string()) {
        json a = component(t.get<std::string>());
        a["agencyRoleDescriptionRegistryText"] = json::array({role_recipient});
        a["agencyType"] = json::array({agency_type(t.get<std::string>())});
        agencies.push_back(std::move(a));
      }

  if (body.contains("methane") && body["methane"].contains("exact_location")) {
    const json& loc = body["methane"]["exact_location"];
    json l = component(component_id("location"));
    l["locationTypeDescriptionRegistryText"] = location_type;
    if (loc.contains("wgs84")) l["locationByValue"] = pidf_lo(from, loc["wgs84"]);
    if (loc.contains("address")) l["locationDescriptionText"] = str(loc, "address");
    inc["locationReference"] = json::array({{{"$ref", l["$id"]}}});
    eido["locationComponent"] = json::array({std::move(l)});
  }

  // Notes: the M/ETHANE read-out for a CAD operator, then the message's own free text.
  json notes = json::array();
  if (type == "transfer.request" || type == "transfer.update" || type == "transfer.cancel") {
    json n = component(component_id("methane"));
    n["notesActionComments"] = methane_text(msg);
    notes.push_back(std::move(n));
  }
  for (const char* k : {"notes", "text", "reason", "note"})
    if (auto v = str(body, k); !v.empty()) {
      json n = component(component_id(k));
      n["notesActionComments"] = v;
      notes.push_back(std::move(n));
    }
  if (!notes.empty()) {
    json refs = json::array();
    for (const auto& n : notes) refs.push_back({{"$ref", n["$id"]}});
    inc["notesReference"] = std::move(refs);
  }

  if (body.contains("contact")) {
    const json& c = body["contact"];
    json person = component(component_id("contact"));
    person["personIncidentRoleRegistryText"] = json::array({"Contact"});
    if (c.contains("name"))
      person["ncPersonComponent"] = {{"PersonName", {{"PersonFullName", str(c, "name")}}}};
    inc["personReference"] = json::array({{{"$ref", person["$id"]}}});
    eido["personComponent"] = json::array({std::move(person)});
  }

  eido["incidentComponent"] = std::move(inc);
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

// The id part of "urn:emergency:uid:incidentid:<id>:<domain>", else empty.
std::string incident_urn_id(const std::string& urn) {
  if (urn.rfind(incident_urn, 0) != 0) return {};
  std::string rest = urn.substr(std::string(incident_urn).size());
  auto colon = rest.find(':');
  return colon == std::string::npos ? std::string() : rest.substr(0, colon);
}

// The agency an EIDO identity (an agency $id, an issuingElementIdentification) belongs to: the
// partners configuration's eido_ids, else the identity itself when it is a Bluelink agency id.
std::string agency_of_identity(const std::string& identity, const partner_context* partner) {
  if (partner)
    if (auto it = partner->eido_ids.find(identity); it != partner->eido_ids.end())
      return it->second;
  return std::regex_match(identity, agency_re()) ? identity : std::string();
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool has_role(const json& component, const char* member, const char* role) {
  auto it = component.find(member);
  if (it == component.end() || !it->is_array()) return false;
  for (const auto& r : *it)
    if (r.is_string() && lower(r.get<std::string>()) == role) return true;
  return false;
}

std::string joined(const json& list, const char* sep = ", ") {
  std::string out;
  if (list.is_array())
    for (const auto& v : list)
      if (v.is_string()) out += (out.empty() ? "" : sep) + v.get<std::string>();
  return out;
}

// The $ref of a Reference member (a single {"$ref"}), else empty.
std::string ref_of(const json& component, const char* member) {
  auto it = component.find(member);
  return it != component.end() && it->is_object() ? str(*it, "$ref") : std::string();
}

// Every $ref of a Reference[] member.
std::vector<std::string> refs_of(const json& component, const char* member) {
  std::vector<std::string> out;
  auto it = component.find(member);
  if (it != component.end() && it->is_array())
    for (const auto& r : *it)
      if (r.is_object())
        if (auto v = str(r, "$ref"); !v.empty()) out.push_back(v);
  return out;
}

const json* component_by_id(const json& doc, const char* member, const std::string& id) {
  if (id.empty()) return nullptr;
  auto it = doc.find(member);
  if (it == doc.end() || !it->is_array()) return nullptr;
  for (const auto& c : *it)
    if (c.is_object() && str(c, "$id") == id) return &c;
  return nullptr;
}

// A NIEM person's name as an operator reads it: PersonFullName, else given and surname (the
// members with or without their "nc:" prefix).
std::string person_name(const json& person) {
  auto member = [](const json& j, const char* name) -> const json* {
    if (!j.is_object()) return nullptr;
    for (const std::string& k : {std::string(name), "nc:" + std::string(name)})
      if (auto it = j.find(k); it != j.end()) return &*it;
    return nullptr;
  };
  const json* nc = member(person, "ncPersonComponent");
  const json* name = nc ? member(*nc, "PersonName") : nullptr;
  if (!name) return {};
  auto text = [&](const char* k) {
    const json* v = member(*name, k);
    if (v && v->is_object()) v = member(*v, "value");  // NIEM JSON may wrap a value
    return v && v->is_string() ? trim(v->get<std::string>()) : std::string();
  };
  if (auto full = text("PersonFullName"); !full.empty()) return full;
  std::string out;
  for (const char* k : {"PersonGivenName", "PersonMiddleName", "PersonSurName"})
    if (auto v = text(k); !v.empty()) out += (out.empty() ? "" : " ") + v;
  return out;
}

// The callback addresses of a callback component: the updated callback number first (a
// call-taker's correction), then the URIs of the call's P-Asserted-Identity or From.
std::vector<std::string> callback_uris(const json& cb) {
  std::vector<std::string> out;
  auto add = [&](const std::string& u) {
    if (!u.empty() && std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
  };
  if (auto it = cb.find("updatedCbn"); it != cb.end() && it->is_object())
    add(trim(str(*it, "updatedCbnIdentifierUri")));
  if (auto it = cb.find("callBackInformationUri"); it != cb.end() && it->is_array())
    for (const auto& u : *it)
      if (u.is_string()) add(trim(u.get<std::string>()));
  return out;
}

// The members of a partner's EIDO that become part of the transfer; everything else is named
// in the source's not-carried list.
const char* const read_top[] = {"$id",
                                "lastUpdateTimeStamp",
                                "updatedByAgencyReference",
                                "updatedByAgentReference",
                                "eidoVersion",
                                "issuingElementIdentification",
                                "incidentComponent",
                                "agencyComponent",
                                "locationComponent",
                                "notesComponent",
                                "personComponent",
                                "callComponent",
                                "callbackComponent",
                                "@context"};
const char* const read_incident[] = {"$id",
                                     "lastUpdateTimeStamp",
                                     "updatedByAgencyReference",
                                     "updatedByAgentReference",
                                     "incidentTypeCommonRegistryText",
                                     "incidentTypeInternalCode",
                                     "incidentTypeInternalText",
                                     "incidentStatusCommonRegistryText",
                                     "incidentStatusInternalText",
                                     "internalIncidentId",
                                     "incidentCommonPriorityNumber",
                                     "incidentPriorityInternalText",
                                     "locationReference",
                                     "notesReference",
                                     "personReference"};

struct not_carried_list {
  json lines = json::array();
  void add(std::string line) {
    if (lines.size() >= 200) return;
    if (lines.size() == 199) line = "... and more (the original document has everything)";
    lines.push_back(cap_detail::clip_chars(line, 1000));
  }
};

// A partner's EIDO (no Bluelink extension): a transfer.request as a CAD integrator would derive
// it, with the caller and callback number, and a source naming what it does not carry.
std::variant<json, translate_error> import_partner(const json& doc,
                                                   const eido_import_context& ctx) {
  json msg = json::object();
  const partner_context* partner = ctx.partner;
  const std::string agency_ref = updated_by(doc);
  const std::string element = str(doc, "issuingElementIdentification");
  const std::string incident_id = str(doc, "$id");
  const std::string last_update = str(doc, "lastUpdateTimeStamp");
  if (!component_by_id(doc, "agencyComponent", agency_ref))
    return make_translate_error("bl.eido.bad_value",
                                "/updatedByAgencyReference/$ref '" + clip(agency_ref, 120) +
                                    "' names no /agencyComponent/*/$id (NENA: every agency "
                                    "referred to is listed there)");

  // Who it is from: the link's agency when there is one (authoritative), checked against the
  // document's identities; else the agency those identities map to, or are.
  std::string agency = agency_of_identity(agency_ref, partner);
  if (agency.empty()) agency = agency_of_identity(element, partner);
  const std::string identities = "/updatedByAgencyReference/$ref '" + clip(agency_ref, 120) +
                                 "' and /issuingElementIdentification '" + clip(element, 120) + "'";
  std::string from;
  if (!ctx.from.empty()) {
    if (agency.empty())
      return make_translate_error("bl.partner.unknown_sender",
                                  identities + " are not identities of " + ctx.from +
                                      " (the configuration's partners[].eido_ids lists a "
                                      "partner's EIDO identities)");
    if (agency != ctx.from)
      return make_translate_error("bl.partner.sender_mismatch", identities + " are " + agency +
                                                                    "'s, but the document came "
                                                                    "from " +
                                                                    ctx.from);
    from = ctx.from;
  } else if (agency.empty()) {
    return not_derivable("/from", identities +
                                      " are neither Bluelink agency ids nor a partner's EIDO "
                                      "identities in the configuration (partners[].eido_ids; "
                                      "bluelink translate --config FILE, or --as AGENCY)");
  } else {
    from = agency;
  }
  msg["id"] = eido_message_id(from, incident_id);
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

  // To whom: the link's recipient, the partner's configured one, else the one other agency
  // the document lists that is (or maps to) a Bluelink agency.
  json to = json::array();
  for (const auto& t : ctx.to) to.push_back(t);
  if (to.empty() && partner) {
    std::string d = partner->default_to;
    if (d.empty())
      if (auto it = partner->default_to_of.find(from); it != partner->default_to_of.end())
        d = it->second;
    if (!d.empty()) to.push_back(d);
  }
  std::string recipient_type;
  if (to.empty())
    for (const auto& a : doc["agencyComponent"]) {
      const std::string aid = str(a, "$id");
      if (aid == agency_ref) continue;
      std::string mapped = agency_of_identity(aid, partner);
      if (mapped.empty() || mapped == from ||
          std::find(to.begin(), to.end(), json(mapped)) != to.end())
        continue;
      to.push_back(mapped);
      if (a.contains("agencyType") && a["agencyType"].is_array() && !a["agencyType"].empty() &&
          a["agencyType"][0].is_string())
        recipient_type = lower(a["agencyType"][0].get<std::string>());
    }
  if (to.empty())
    return not_derivable("/to",
                         "no /agencyComponent/*/$id other than the sender's is (or maps to) a "
                         "Bluelink agency, and neither the link nor the partners configuration "
                         "names a recipient");
  if (to.size() > 1)
    return not_derivable("/to", "the EIDO names " + std::to_string(to.size()) +
                                    " receiving agencies (" + to.dump() +
                                    "); a transfer goes to exactly one");
  msg["to"] = to;
  msg["sent_at"] = last_update;

  const json* inc = incident_of(doc);
  const json empty = json::object();
  const json& i = inc ? *inc : empty;
  json body = json::object();

  // The receiving agency's type decides what is asked of it.
  if (recipient_type.empty()) recipient_type = agency_type(to[0].get<std::string>());
  const bool awareness = ctx.type == "transfer.alert";
  std::string category = awareness ? "notification"
                         : recipient_type.find("police") != std::string::npos
                             ? "police.scene_security"
                         : recipient_type.find("fire") != std::string::npos ? "fire.rescue"
                         : recipient_type.find("ems") != std::string::npos ||
                                 recipient_type.find("ambulance") != std::string::npos
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
    auto p = lower(str(i, "incidentPriorityInternalText"));
    for (const auto& [name, n] : priorities)
      if (p == name) priority = p;
  }
  const json calls = doc.contains("callComponent") ? doc["callComponent"] : json::array();
  std::string call_type, call_priority;
  for (const auto& c : calls) {
    if (auto t = str(c, "standardPrimaryCallType"); !t.empty() && call_type.empty()) call_type = t;
    if (auto p = str(c, "priorityIdentifier"); !p.empty() && call_priority.empty())
      call_priority = p;
  }
  if (priority.empty() && !call_priority.empty())
    priority = call_priority == "highest" ? "emergency"
               : call_priority == "high"  ? "urgent"
                                          : "routine";
  if (priority.empty()) priority = call_type == "emergency" ? "emergency" : "routine";
  body["priority"] = priority;

  // Incident type: the registry text, else the call's type.
  std::string code = trim(str(i, "incidentTypeCommonRegistryText"));
  std::string text = cap_detail::plain_text(str(i, "incidentTypeInternalText"));
  if (code.empty() && !call_type.empty()) code = "CALL-" + call_type;
  // NENA requires neither an incident nor a call: an EIDO of the required members only says
  // so rather than being refused.
  if (code.empty()) {
    code = "UNKNOWN";
    text = "Incident type not given in the EIDO";
  }
  if (text.empty()) text = inc ? code : "Call transferred by EIDO (" + call_type + " call)";
  json toi = {{"code", cap_detail::clip_chars(code, 40)},
              {"text", cap_detail::clip_chars(text, 500)}};
  if (auto ac = trim(str(i, "incidentTypeInternalCode")); !ac.empty())
    toi["agency_code"] = cap_detail::clip_chars(ac, 40);

  // The sender's own incident number: internalIncidentId, else the incident tracking
  // identifier's id part, else the identifier itself when it is short enough.
  std::string number = trim(str(i, "internalIncidentId"));
  std::string number_from = "/incidentComponent/internalIncidentId";
  if (number.empty()) {
    number = incident_urn_id(incident_id);
    number_from = "/$id";
  }
  if (number.empty() && incident_id.size() <= 40) number = incident_id;
  if (number.empty())
    return not_derivable("/body/sender_incident/number",
                         "/incidentComponent/internalIncidentId is missing and /$id '" +
                             clip(incident_id, 120) +
                             "' is neither an urn:emergency:uid:incidentid: URN nor 40 "
                             "characters or fewer");
  if (number.size() > 40)
    return not_derivable("/body/sender_incident/number",
                         number_from + " '" + clip(number, 120) + "' is longer than 40 characters");
  body["sender_incident"] = {{"number", number},
                             {"system", cap_detail::clip_chars("EIDO " + element, 60)}};

  not_carried_list nc;
  std::vector<std::string> used_locations, used_persons, used_callbacks;

  // Where: the locations the incident refers to, then the calls', then any other; the first
  // that gives a position or an address is the incident's location.
  json loc = json::object();
  const json locations =
      doc.contains("locationComponent") ? doc["locationComponent"] : json::array();
  std::vector<std::string> order = refs_of(i, "locationReference");
  for (const auto& c : calls)
    for (auto& r : refs_of(c, "locationReference")) order.push_back(std::move(r));
  std::vector<std::size_t> candidates;
  for (const auto& r : order)
    for (std::size_t k = 0; k < locations.size(); ++k)
      if (str(locations[k], "$id") == r &&
          std::find(candidates.begin(), candidates.end(), k) == candidates.end())
        candidates.push_back(k);
  for (std::size_t k = 0; k < locations.size(); ++k)
    if (std::find(candidates.begin(), candidates.end(), k) == candidates.end())
      candidates.push_back(k);
  std::size_t chosen = locations.size();
  for (std::size_t k : candidates) {
    const json& l = locations[k];
    const std::string lp = "/locationComponent/" + std::to_string(k);
    json here = json::object();
    if (auto v = str(l, "locationByValue"); !v.empty())
      if (auto e = read_pidf(v, lp + "/locationByValue", here)) return *e;
    if (auto a = cap_detail::plain_text(str(l, "locationDescriptionText")); !a.empty())
      if (!here.contains("address")) here["address"] = cap_detail::clip_chars(a, 300);
    if (!here.empty()) {
      loc = std::move(here);
      chosen = k;
      break;
    }
  }
  if (loc.empty()) {
    // NENA requires no location by value: the operator is told there is none (and where one
    // may be fetched), to ask the sender.
    std::string where = "Not given in the EIDO";
    for (std::size_t k : candidates)
      if (auto u = str(locations[k], "locationByReferenceUrl"); !u.empty()) {
        where += "; by reference at " + u + " (not fetched)";
        break;
      }
    loc["address"] = cap_detail::clip_chars(where, 300);
  }
  for (std::size_t k = 0; k < locations.size(); ++k) {
    if (k == chosen) continue;
    const json& l = locations[k];
    std::string line = "location " + std::to_string(k + 1) + " of " +
                       std::to_string(locations.size()) + " (" +
                       str(l, "locationTypeDescriptionRegistryText") + ")";
    if (auto u = str(l, "locationByReferenceUrl"); !u.empty())
      line += ": by reference at " + u + " (not fetched)";
    else if (auto d = str(l, "locationDescriptionText"); !d.empty())
      line += ": " + d;
    else if (l.contains("locationByValue"))
      line += ": a PIDF-LO document";
    nc.add(line);
  }

  // The caller and the number to call back on: the person in the role Caller, its callback
  // component, else the call's.
  std::string caller_name;
  bool caller_found = false;
  std::vector<std::string> cb;
  const json persons = doc.contains("personComponent") ? doc["personComponent"] : json::array();
  for (const auto& p : persons)
    if (has_role(p, "personIncidentRoleRegistryText", "caller")) {
      caller_found = true;
      caller_name = person_name(p);
      used_persons.push_back(str(p, "$id"));
      if (const json* c =
              component_by_id(doc, "callbackComponent", ref_of(p, "callBackReference"))) {
        cb = callback_uris(*c);
        used_callbacks.push_back(str(*c, "$id"));
      }
      break;
    }
  for (const auto& c : calls)
    if (cb.empty())
      if (const json* k =
              component_by_id(doc, "callbackComponent", ref_of(c, "callBackReference"))) {
        cb = callback_uris(*k);
        used_callbacks.push_back(str(*k, "$id"));
      }
  std::string caller_line;
  if (caller_found || !cb.empty()) {
    caller_line = "Caller: " + (caller_name.empty() ? std::string("name not given") : caller_name);
    std::string numbers;
    for (const auto& u : cb) numbers += (numbers.empty() ? "" : ", ") + u;
    caller_line += numbers.empty() ? "; no callback number given" : "; call back on " + numbers;
  }
  for (std::size_t k = 0; k < persons.size(); ++k) {
    const json& p = persons[k];
    if (std::find(used_persons.begin(), used_persons.end(), str(p, "$id")) != used_persons.end())
      continue;
    std::string name = person_name(p);
    nc.add("person " + std::to_string(k + 1) + " of " + std::to_string(persons.size()) + " (" +
           joined(p.value("personIncidentRoleRegistryText", json::array())) + ")" +
           (name.empty() ? "" : ": " + name));
  }
  if (doc.contains("callbackComponent"))
    for (const auto& c : doc["callbackComponent"])
      if (std::find(used_callbacks.begin(), used_callbacks.end(), str(c, "$id")) ==
          used_callbacks.end()) {
        std::string numbers;
        for (const auto& u : callback_uris(c)) numbers += (numbers.empty() ? "" : ", ") + u;
        nc.add("callback " + str(c, "$id") + (numbers.empty() ? "" : ": " + numbers));
      }
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const json& c = calls[k];
    nc.add("call " + str(c, "$id") + " (" + str(c, "standardPrimaryCallType") + ", " +
           str(c, "direction") + ", started " + str(c, "callStartTimestamp") + ", " +
           str(c, "callStateRegistryText") + ")");
  }

  // Everything else the document holds, by member.
  for (const auto& [k, v] : doc.items()) {
    if (std::find(std::begin(read_top), std::end(read_top), k) != std::end(read_top)) continue;
    if (k == "agentComponent" && v.is_array()) {
      for (const auto& a : v)
        nc.add("agent " + str(a, "$id") + " (" +
               joined(a.value("agentRoleRegistryText", json::array())) + ")" +
               (a.contains("agentWorkstationPositionIdentification")
                    ? ", position " + str(a, "agentWorkstationPositionIdentification")
                    : ""));
      continue;
    }
    if (k == "additionalDataComponent" && v.is_array()) {
      for (std::size_t n = 0; n < v.size(); ++n) {
        const json& d = v[n];
        std::string what = str(d, "urlPurpose");
        std::string line = "additional data " + std::to_string(n + 1) + " of " +
                           std::to_string(v.size()) + (what.empty() ? "" : " (" + what + ")");
        if (auto u = str(d, "additionalDataByReferenceUrl"); !u.empty())
          line += ": by reference at " + u;
        else if (d.contains("additionalDataByValue"))
          line +=
              ": by value (" + std::to_string(str(d, "additionalDataByValue").size()) + " bytes)";
        nc.add(line);
      }
      continue;
    }
    nc.add(v.is_array()
               ? k + " (" + std::to_string(v.size()) + (v.size() == 1 ? " entry)" : " entries)")
               : k);
  }
  for (const auto& [k, v] : i.items()) {
    if (std::find(std::begin(read_incident), std::end(read_incident), k) != std::end(read_incident))
      continue;
    nc.add("incidentComponent/" + k +
           (v.is_string()  ? ": " + v.get<std::string>()
            : v.is_array() ? " (" + std::to_string(v.size()) + " entries)"
                           : ""));
  }
  for (const auto& a : doc["agencyComponent"])
    if (auto j = str(a, "agencyJcard"); !j.empty())
      nc.add("agency " + str(a, "$id") + " contact card (agencyJcard)");

  body["methane"] = {{"major_incident", "not_declared"},
                     {"exact_location", std::move(loc)},
                     {"type_of_incident", std::move(toi)}};
  // Notes: the caller first (so that no clipping loses it), then the agents' notes as text.
  std::string notes = caller_line;
  if (doc.contains("notesComponent"))
    for (const auto& n : doc["notesComponent"])
      if (auto t = cap_detail::plain_text(str(n, "notesActionComments")); !t.empty())
        notes += (notes.empty() ? "" : "\n") + t;
  std::string summary = text + " (EIDO from " + element + ")";
  body["summary"] = cap_detail::clip_chars(summary, 200);
  if (!notes.empty()) {
    bool clipped = false;
    body["notes"] = cap_detail::clip_chars(notes, 2000, &clipped);
    if (clipped) nc.add("notes: the text beyond 2000 characters");
  }
  // A later state of an incident whose first state made a transfer updates that transfer.
  std::optional<eido_earlier_state> earlier;
  if (ctx.transfer_of) earlier = ctx.transfer_of(incident_id);
  if (earlier && earlier->first_state != last_update) {
    msg = {{"id", eido_message_id(from, incident_id, last_update)},
           {"type", "transfer.update"},
           {"from", from},
           {"transfer_id", earlier->transfer_id},
           {"version", earlier->next_version},
           {"sent_at", last_update}};
    json update = {{"summary", body["summary"]},
                   {"priority", body["priority"]},
                   {"sender_incident", body["sender_incident"]},
                   {"methane", body["methane"]}};
    std::string what = "The incident as " + element + " sees it at " + last_update;
    if (body.contains("notes")) what += ":\n" + body["notes"].get<std::string>();
    update["text"] = cap_detail::clip_chars(what, 2000);
    body = std::move(update);
  }
  msg["body"] = std::move(body);
  json source = {{"standard", "NENA EIDO " + str(doc, "eidoVersion")},
                 {"sender", cap_detail::clip_chars(element, 300)},
                 {"identifier", cap_detail::clip_chars(incident_id + " at " + last_update, 300)},
                 {"not_carried", std::move(nc.lines)}};
  msg["source"] = std::move(source);
  return msg;
}

}  // namespace

std::optional<eido_earlier_state> eido_earlier_state_of(
    const std::string& agency, const std::string& incident_id,
    const std::function<std::optional<std::pair<std::string, std::int64_t>>(const std::string&)>&
        transfer_of_message,
    const std::function<std::optional<std::string>(const std::string&)>& original_body) {
  const std::string first = eido_message_id(agency, incident_id);
  auto t = transfer_of_message(first);
  if (!t) return std::nullopt;
  eido_earlier_state s{t->first, t->second + 1, {}};
  if (auto body = original_body(first)) {
    json doc;
    json_limits limits;
    limits.max_bytes = eido_max_bytes;
    if (!parse_json_bounded(*body, doc, limits, "the kept EIDO") && doc.is_object())
      s.first_state = str(doc, "lastUpdateTimeStamp");
  }
  return s;
}

std::string eido_component_uuid(const std::string& message_id, const std::string& role) {
  return uuid_of(message_id + "#" + role);
}

std::string eido_message_id(const std::string& agency, const std::string& incident_id,
                            const std::string& last_update) {
  std::string key = last_update.empty() ? incident_id : incident_id + ":" + last_update;
  if (!std::regex_match(key, key_re()))
    key = "eido-" + sha256_hex(incident_id + "\n" + last_update).substr(0, 32);
  return agency + ":" + key;
}

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
  // NENA's schema first (is it an EIDO?), then Bluelink's bounds on what it reads.
  if (auto e = schemas.validate("eido/nena_eido_1_0", doc))
    return make_translate_error("bl.eido.invalid",
                                "the EIDO does not follow NENA's EIDO 1.0 schema "
                                "(schemas/eido/nena_eido_1_0.schema.json): " +
                                    e->message + " (at '" + e->pointer + "')");
  if (auto e = schemas.validate("eido/eido", doc))
    return make_translate_error("bl.eido.invalid",
                                "the EIDO is outside what Bluelink reads "
                                "(schemas/eido/eido.schema.json): " +
                                    e->message + " (at '" + e->pointer + "')");

  json msg;
  if (doc.contains(ext_key)) {
    // Bluelink's own EIDO: EIDO's members, then the extension, give the message back exactly.
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
    if (!msg.contains("id"))
      return missing_field("/" + std::string(ext_key) + "/~1id",
                           "is required in an EIDO that carries /" + std::string(ext_key) +
                               ": the Bluelink message id (an EIDO has no member for one)");
    if (!ctx.from.empty() && str(msg, "from") != ctx.from)
      return make_translate_error("bl.eido.bad_value",
                                  "/updatedByAgencyReference/$ref '" + str(msg, "from") +
                                      "' is not the authenticated agency '" + ctx.from + "'");
    // requestAwareness (ctx.type transfer.alert) carries a notification: a transfer.request.
    const std::string wanted = ctx.type == "transfer.alert" ? "transfer.request" : ctx.type;
    if (!wanted.empty() && str(msg, "type") != wanted)
      return make_translate_error("bl.eido.bad_value",
                                  "the EIDO is a " + str(msg, "type") +
                                      " (/incidentComponent/incidentStatusInternalText/0) but "
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
