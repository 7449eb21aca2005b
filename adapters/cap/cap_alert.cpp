#include "adapters/cap/cap_alert.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <set>
#include <utility>
#include <variant>
#include <vector>

#include "adapters/cap/json_text.hpp"
#include "adapters/text/methane_text.hpp"
#include "gateway/core/message.hpp"
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

const std::string ns(cap_namespace);
constexpr std::string_view param_prefix = "bluelink:";
constexpr const char* restriction_text =
    "Bluelink inter-agency transfer between control rooms: for the addressed agencies only, not "
    "for public release.";

// Leaves that are numbers in the canonical model; every other leaf is a string.
const std::set<std::string> numeric_keys = {"lat",      "lon",   "accuracy_m", "easting",
                                            "northing", "fatal", "immediate",  "urgent",
                                            "delayed",  "minor", "uninjured",  "version"};
// Keys whose value is an object or array, so "{}" / "[]" in a parameter means an empty one.
const std::set<std::string> container_keys = {
    "hazards", "present", "required", "casualties",     "emergency_services", "contact",
    "methane", "osgr",    "wgs84",    "exact_location", "type_of_incident",   "sender_incident"};

struct ask_phrase {
  const char* ask;
  const char* instruction;
};
const ask_phrase asks[] = {
    {"attend", "Attend: send resources to the incident."},
    {"take_over", "Take over: assume primacy of the incident."},
    {"for_information", "For information: no action is expected beyond acknowledgement."},
    {"information_request", "Information request: reply with the information asked for."},
};

struct prio_map {
  const char* priority;
  const char* urgency;
  const char* severity;
};
const prio_map prios[] = {
    {"emergency", "Immediate", "Severe"},
    {"urgent", "Expected", "Moderate"},
    {"routine", "Future", "Minor"},
};

const std::pair<const char*, const char*> categories[] = {
    {"police.traffic_management", "Security"},
    {"police.scene_security", "Security"},
    {"police.violence_threat", "Security"},
    {"fire.forced_entry", "Rescue"},
    {"fire.missing_person_search", "Rescue"},
    {"fire.vehicle_removal_srn", "Fire"},
    {"fire.hazardous_materials", "Fire"},
    {"fire.rescue", "Rescue"},
    {"ambulance.casualty_care", "Health"},
    {"info.address_risk", "Safety"},
    {"notification", "Safety"},
};
// A partner's CAP category -> the Bluelink request category it most often means.
const std::pair<const char*, const char*> partner_categories[] = {
    {"Health", "ambulance.casualty_care"},      {"Rescue", "fire.rescue"},
    {"CBRNE", "fire.hazardous_materials"},      {"Security", "police.scene_security"},
    {"Transport", "police.traffic_management"},
};
const char* const cap_categories[] = {"Geo",    "Met", "Safety",    "Security", "Rescue", "Fire",
                                      "Health", "Env", "Transport", "Infra",    "CBRNE",  "Other"};

// ---- export ---------------------------------------------------------------------------------

class xml_writer {
 public:
  xml_writer() { out_ = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"; }
  void open(const std::string& name, const std::string& attrs = {}) {
    indent();
    out_ += "<" + name + attrs + ">\n";
    ++depth_;
  }
  void close(const std::string& name) {
    --depth_;
    indent();
    out_ += "</" + name + ">\n";
  }
  void leaf(const std::string& name, std::string_view text) {
    indent();
    out_ += "<" + name + ">" + xml_escape(text) + "</" + name + ">\n";
  }
  void pair(const std::string& name, std::string_view value_name, std::string_view value) {
    open(name);
    leaf("valueName", value_name);
    leaf("value", value);
    close(name);
  }
  std::string take() { return std::move(out_); }

 private:
  void indent() { out_.append(static_cast<std::size_t>(depth_) * 2, ' '); }
  std::string out_;
  int depth_ = 0;
};

using param_list = std::vector<std::pair<std::string, std::string>>;

void add_params(param_list& out, const std::string& pointer, const json& v) {
  if (v.is_object()) {
    if (v.empty()) out.emplace_back(pointer, "{}");
    for (const auto& [k, item] : v.items()) add_params(out, pointer + "/" + escape_token(k), item);
  } else if (v.is_array()) {
    if (v.empty()) out.emplace_back(pointer, "[]");
    for (std::size_t i = 0; i < v.size(); ++i)
      add_params(out, pointer + "/" + std::to_string(i), v[i]);
  } else if (v.is_string()) {
    out.emplace_back(pointer, v.get<std::string>());
  } else if (v.is_number()) {
    out.emplace_back(pointer, number_text(v));
  } else {
    out.emplace_back(pointer, v.dump());
  }
}

// RFC 3339 -> CAP dateTime (numeric zone, "-00:00" for UTC, no fraction).
std::string to_cap_time(const std::string& t) {
  if (t.size() < 20) return t;
  std::string base = t.substr(0, 19);
  if (t.back() == 'Z') return base + "-00:00";
  return base + t.substr(t.size() - 6);
}

// CAP dateTime -> RFC 3339 ("-00:00" is UTC and becomes "Z").
std::string from_cap_time(const std::string& t) {
  if (t.size() == 25 && t.compare(19, 6, "-00:00") == 0) return t.substr(0, 19) + "Z";
  return t;
}

std::string cap_category(const std::string& c) {
  for (const auto& [k, v] : categories)
    if (c == k) return v;
  return "Other";
}

std::string area_description(const json& loc, bool& generated) {
  generated = false;
  if (auto a = str(loc, "address"); !a.empty()) return a;
  generated = true;
  if (loc.contains("osgr"))
    return "OS grid E " + number_text(loc["osgr"]["easting"]) + " N " +
           number_text(loc["osgr"]["northing"]);
  if (auto p = str(loc, "postcode"); !p.empty()) return "Postcode " + p;
  if (auto w = str(loc, "what3words"); !w.empty()) return "what3words " + w;
  return "Position given as a circle";
}

void export_area(xml_writer& w, const json& loc, param_list& params) {
  bool generated = false;
  w.open("area");
  w.leaf("areaDesc", area_description(loc, generated));
  if (generated) params.emplace_back("areaDesc", "generated");
  if (loc.contains("wgs84")) {
    const auto& g = loc["wgs84"];
    std::string radius = "0";
    if (g.contains("accuracy_m")) {
      radius = number_text(json(g["accuracy_m"].get<double>() / 1000.0));
      // CAP's radius is in kilometres; keep the metres exactly when km*1000 does not read back.
      auto back = parse_double(radius);
      if (!back || *back * 1000.0 != g["accuracy_m"].get<double>() || g["accuracy_m"] == 0)
        add_params(params, "/body/methane/exact_location/wgs84/accuracy_m", g["accuracy_m"]);
    }
    w.leaf("circle", number_text(g["lat"]) + "," + number_text(g["lon"]) + " " + radius);
  }
  for (const char* k : {"postcode", "uprn", "what3words"})
    if (auto v = str(loc, k); !v.empty()) w.pair("geocode", k, v);
  w.close("area");
}

void methane_params(param_list& params, const json& methane) {
  for (const auto& [k, v] : methane.items()) {
    if (k != "exact_location") {
      add_params(params, "/body/methane/" + escape_token(k), v);
      continue;
    }
    for (const auto& [lk, lv] : v.items()) {
      if (lk == "address" || lk == "postcode" || lk == "uprn" || lk == "what3words") continue;
      if (lk == "wgs84") continue;  // the circle carries it
      add_params(params, "/body/methane/exact_location/" + escape_token(lk), lv);
    }
  }
}

}  // namespace

std::variant<std::string, translate_error> cap_export(const json& msg) {
  const std::string type = str(msg, "type");
  if (type != "transfer.request" && type != "transfer.update" && type != "transfer.cancel")
    return make_translate_error("bl.cap.unsupported_type",
                                "CAP export takes transfer.request, transfer.update or "
                                "transfer.cancel; /type is '" +
                                    type + "'");
  const json& body = msg.at("body");
  param_list params;
  xml_writer w;
  w.open("alert", " xmlns=\"" + ns + "\"");
  w.leaf("identifier", str(msg, "id"));
  w.leaf("sender", str(msg, "from"));

  const std::string sent = str(msg, "sent_at");
  const std::string cap_sent = to_cap_time(sent);
  if (from_cap_time(cap_sent) != sent) params.emplace_back("/sent_at", sent);
  w.leaf("sent", cap_sent);

  const std::string mode = str(msg, "mode");
  w.leaf("status", mode == "exercise" ? "Exercise" : mode == "test" ? "Test" : "Actual");
  if (mode == "live") params.emplace_back("/mode", "live");  // written only when the sender did
  w.leaf("msgType", type == "transfer.request"  ? "Alert"
                    : type == "transfer.update" ? "Update"
                                                : "Cancel");
  w.leaf("scope", "Restricted");
  w.leaf("restriction", restriction_text);
  if (msg.contains("to")) {
    std::string addresses;
    for (const auto& t : msg["to"])
      addresses += (addresses.empty() ? "" : " ") + t.get<std::string>();
    w.leaf("addresses", addresses);
  }
  std::string note = type == "transfer.request"  ? str(body, "notes")
                     : type == "transfer.update" ? str(body, "text")
                                                 : str(body, "reason");
  if (type != "transfer.request" || !note.empty())
    w.leaf("note", note);
  else if (body.contains("notes"))
    params.emplace_back("/body/notes", "");  // an empty <note> would read back as none
  const std::string tid = str(msg, "transfer_id");
  if (!tid.empty()) {
    if (type == "transfer.request") {
      params.emplace_back("/transfer_id", tid);
    } else {
      // The earlier message is the transfer the gateway registered: sender "bluelink",
      // identifier the transfer id, sent the UTC date in the id.
      w.leaf("references", "bluelink," + tid + "," + tid.substr(2, 4) + "-" + tid.substr(6, 2) +
                               "-" + tid.substr(8, 2) + "T00:00:00-00:00");
    }
  }
  if (msg.contains("version")) add_params(params, "/version", msg["version"]);

  w.open("info");
  w.leaf("language", "en-GB");
  w.leaf("category", type == "transfer.request" ? cap_category(str(body, "category")) : "Other");
  std::string event = type == "transfer.request"  ? "Bluelink transfer request"
                      : type == "transfer.update" ? "Bluelink transfer update"
                                                  : "Bluelink transfer cancelled";
  if (body.contains("methane") && body["methane"].contains("type_of_incident"))
    event += ": " + str(body["methane"]["type_of_incident"], "code");
  w.leaf("event", event);
  std::string urgency = "Unknown", severity = "Unknown", certainty = "Unknown";
  if (auto p = str(body, "priority"); !p.empty())
    for (const auto& m : prios)
      if (p == m.priority) {
        urgency = m.urgency;
        severity = m.severity;
        certainty = "Observed";
      }
  w.leaf("urgency", urgency);
  w.leaf("severity", severity);
  w.leaf("certainty", certainty);
  if (msg.contains("expires_at")) {
    const std::string exp = str(msg, "expires_at");
    const std::string cap_exp = to_cap_time(exp);
    if (from_cap_time(cap_exp) != exp) params.emplace_back("/expires_at", exp);
    w.leaf("expires", cap_exp);
  }
  w.leaf("senderName", str(msg, "from"));
  if (body.contains("summary")) w.leaf("headline", str(body, "summary"));
  w.leaf("description", methane_text(msg));
  if (auto a = str(body, "ask"); !a.empty())
    for (const auto& p : asks)
      if (a == p.ask) w.leaf("instruction", p.instruction);
  if (body.contains("contact")) {
    std::string c;
    for (const char* k : {"name", "role", "phone"})
      if (auto v = str(body["contact"], k); !v.empty()) c += (c.empty() ? "" : ", ") + v;
    if (!c.empty()) w.leaf("contact", c);
    add_params(params, "/body/contact", body["contact"]);
  }
  if (type == "transfer.request") params.emplace_back("/body/category", str(body, "category"));
  if (body.contains("sender_incident"))
    add_params(params, "/body/sender_incident", body["sender_incident"]);
  if (body.contains("methane")) methane_params(params, body["methane"]);

  // Parameters come before <area> in CAP's element order; the area may add one, so build it
  // first into its own writer.
  xml_writer area;
  std::string area_xml;
  if (body.contains("methane") && body["methane"].contains("exact_location")) {
    export_area(area, body["methane"]["exact_location"], params);
    area_xml = area.take();
    area_xml.erase(0, area_xml.find('\n') + 1);  // drop its XML declaration
  }
  for (const auto& [name, value] : params)
    w.pair("parameter", std::string(param_prefix) + name, value);
  std::string out = w.take();
  // Indent the area to sit inside <info>.
  std::string indented;
  std::size_t pos = 0;
  while (pos < area_xml.size()) {
    auto nl = area_xml.find('\n', pos);
    indented += "    " + area_xml.substr(pos, nl - pos + 1);
    pos = nl + 1;
  }
  out += indented;
  out += "  </info>\n</alert>\n";
  return out;
}

// ---- import ---------------------------------------------------------------------------------

namespace {

using import_result = std::variant<json, translate_error>;

translate_error missing(const xml_element& parent, const char* name) {
  return make_translate_error(
      "bl.cap.missing_element",
      "CAP <" + parent.name + "> (at " + parent.where() + ") has no <" + name + ">");
}

translate_error bad_value(const xml_element& e, const std::string& value, const std::string& want) {
  return make_translate_error(
      "bl.cap.bad_value", "<" + e.name + "> '" + value + "' at " + e.where() + " is not " + want);
}

translate_error not_derivable(const std::string& field, const std::string& why) {
  return make_translate_error("bl.cap.not_derivable",
                              "cannot derive the Bluelink field " + field + ": " + why);
}

bool one_of(const std::string& v, std::initializer_list<const char*> set) {
  for (const char* s : set)
    if (v == s) return true;
  return false;
}

bool is_cap_time(const std::string& t) {
  static const std::regex re = make_safe_regex(
      R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[-+][0-9]{2}:[0-9]{2}$)");
  return std::regex_match(t, re) && parse_rfc3339(from_cap_time(t)).has_value();
}

std::variant<std::string, translate_error> cap_time(const xml_element& e) {
  std::string t = trim(e.text);
  if (!is_cap_time(t))
    return bad_value(e, t, "a CAP date-time (YYYY-MM-DDThh:mm:ss+hh:mm, a real date)");
  return from_cap_time(t);
}

// Keeps whole UTF-8 characters: the schemas count characters, and cutting bytes at a character
// boundary keeps the count at or below `max_bytes`.
std::string clip(const std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// Sets one "bluelink:<pointer>" parameter into the message under construction.
std::optional<translate_error> set_param(json& msg, const std::string& pointer,
                                         const std::string& value, const xml_element& at) {
  auto bad = [&](const std::string& why) {
    return make_translate_error(
        "bl.cap.bad_parameter",
        "parameter '" + std::string(param_prefix) + pointer + "' at " + at.where() + " " + why);
  };
  static const std::set<std::string> envelope = {"/transfer_id", "/version", "/mode", "/sent_at",
                                                 "/expires_at"};
  if (pointer.rfind("/body/", 0) != 0 && envelope.count(pointer) == 0)
    return bad("names no field that Bluelink carries in a parameter");
  std::vector<std::string> tokens;
  std::size_t pos = 1;
  while (pos <= pointer.size()) {
    auto next = pointer.find('/', pos);
    if (next == std::string::npos) next = pointer.size();
    std::string tok;
    for (std::size_t i = pos; i < next; ++i) {
      if (pointer[i] == '~' && i + 1 < next && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        tok += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        tok += pointer[i];
      }
    }
    tokens.push_back(std::move(tok));
    pos = next + 1;
  }
  if (tokens.size() > 8) return bad("is nested too deeply");
  json* cur = &msg;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto& tok = tokens[i];
    if (tok.empty()) return bad("has an empty path segment");
    bool index = tok.find_first_not_of("0123456789") == std::string::npos;
    if (cur->is_null()) *cur = index ? json::array() : json::object();
    json* next_node = nullptr;
    if (cur->is_array()) {
      if (!index || tok.size() > 3) return bad("uses '" + tok + "' where an array index is due");
      auto n = static_cast<std::size_t>(std::stoul(tok));
      if (n > cur->size()) return bad("skips array items (index " + tok + ")");
      if (n == cur->size()) cur->push_back(nullptr);
      next_node = &(*cur)[n];
    } else if (cur->is_object()) {
      next_node = &(*cur)[tok];
    } else {
      return bad("goes through a value that is not an object or array");
    }
    cur = next_node;
  }
  const std::string& key = tokens.back();
  // A parameter may refine what an element gave (an exact time, metres), never replace a group.
  if (cur->is_object() || cur->is_array()) return bad("conflicts with a group of fields");
  if (numeric_keys.count(key)) {
    auto d = parse_double(value);
    if (!d) return bad("has value '" + value + "', which is not a number");
    *cur = as_json_number(*d);
  } else if (container_keys.count(key) && (value == "[]" || value == "{}")) {
    *cur = value == "[]" ? json::array() : json::object();
  } else {
    *cur = value;
  }
  return std::nullopt;
}

std::optional<translate_error> import_area(const xml_element& area, json& loc,
                                           bool address_generated) {
  const xml_element* desc = area.first(ns, "areaDesc");
  if (!desc) return missing(area, "areaDesc");
  if (!address_generated && !trim(desc->text).empty()) loc["address"] = desc->text;
  if (const xml_element* c = area.first(ns, "circle")) {
    std::string t = trim(c->text);
    auto comma = t.find(',');
    auto space = t.find_first_of(" \t\n", comma == std::string::npos ? 0 : comma);
    std::optional<double> lat, lon, radius;
    if (comma != std::string::npos && space != std::string::npos) {
      lat = parse_double(trim(t.substr(0, comma)));
      lon = parse_double(trim(t.substr(comma + 1, space - comma - 1)));
      radius = parse_double(trim(t.substr(space + 1)));
    }
    if (!lat || !lon || !radius || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180 ||
        *radius < 0)
      return bad_value(*c, t,
                       "a CAP circle (\"lat,lon radius-km\" with lat -90..90, lon -180..180)");
    json w = {{"lat", as_json_number(*lat)}, {"lon", as_json_number(*lon)}};
    if (*radius > 0) w["accuracy_m"] = as_json_number(*radius * 1000.0);
    loc["wgs84"] = std::move(w);
  }
  for (const xml_element* g : area.all(ns, "geocode")) {
    const xml_element* vn = g->first(ns, "valueName");
    const xml_element* v = g->first(ns, "value");
    if (!vn) return missing(*g, "valueName");
    if (!v) return missing(*g, "value");
    std::string name = trim(vn->text);
    if (name == "postcode" || name == "uprn" || name == "what3words") loc[name] = trim(v->text);
  }
  return std::nullopt;
}

}  // namespace

std::optional<translate_error> check_message(const json& msg, const schema_set& schemas) {
  if (auto e = schemas.validate_message(msg))
    return make_translate_error(
        std::string(e->id()),
        e->message + (e->pointer.empty() && !msg.is_object() ? "" : " (at '" + e->pointer + "')"));
  auto parsed = parse_message(msg);
  if (auto* e = std::get_if<error>(&parsed))
    return make_translate_error(
        std::string(e->id()),
        e->message + (e->pointer.empty() ? "" : " (at '" + e->pointer + "')"));
  return std::nullopt;
}

std::variant<json, translate_error> cap_import(std::string_view xml, const schema_set& schemas,
                                               const xml_limits& limits) {
  auto parsed = read_xml(xml, limits);
  if (auto* e = std::get_if<translate_error>(&parsed)) return *e;
  const xml_element& alert = std::get<xml_element>(parsed);
  if (alert.ns != ns || alert.name != "alert")
    return make_translate_error(
        "bl.cap.not_cap", "the root element is <" + alert.name + "> in namespace '" + alert.ns +
                              "' at " + alert.where() + "; expected <alert> in " + ns);

  auto text_of = [&](const xml_element& parent, const char* name) -> const xml_element* {
    return parent.first(ns, name);
  };
  for (const char* req : {"identifier", "sender", "sent", "status", "msgType", "scope"})
    if (!text_of(alert, req)) return missing(alert, req);
  const xml_element& e_id = *text_of(alert, "identifier");
  const xml_element& e_sender = *text_of(alert, "sender");
  const xml_element& e_status = *text_of(alert, "status");
  const xml_element& e_type = *text_of(alert, "msgType");
  const xml_element& e_scope = *text_of(alert, "scope");
  const std::string identifier = trim(e_id.text);
  const std::string sender = trim(e_sender.text);
  if (identifier.empty()) return bad_value(e_id, identifier, "a non-empty identifier");
  if (sender.empty()) return bad_value(e_sender, sender, "a non-empty sender");

  const std::string status = trim(e_status.text);
  if (!one_of(status, {"Actual", "Exercise", "System", "Test", "Draft"}))
    return bad_value(e_status, status, "a CAP status (Actual, Exercise, System, Test or Draft)");
  if (status == "System" || status == "Draft")
    return bad_value(e_status, status,
                     "a status Bluelink carries (Actual, Exercise or Test; System and Draft "
                     "messages are not transfers)");
  const std::string msg_type = trim(e_type.text);
  if (!one_of(msg_type, {"Alert", "Update", "Cancel", "Ack", "Error"}))
    return bad_value(e_type, msg_type, "a CAP msgType (Alert, Update, Cancel, Ack or Error)");
  if (msg_type == "Ack" || msg_type == "Error")
    return bad_value(e_type, msg_type, "a msgType Bluelink imports (Alert, Update or Cancel)");
  const std::string scope = trim(e_scope.text);
  if (!one_of(scope, {"Public", "Restricted", "Private"}))
    return bad_value(e_scope, scope, "a CAP scope (Public, Restricted or Private)");
  auto sent = cap_time(*text_of(alert, "sent"));
  if (auto* e = std::get_if<translate_error>(&sent)) return *e;

  const std::string type = msg_type == "Alert"    ? "transfer.request"
                           : msg_type == "Update" ? "transfer.update"
                                                  : "transfer.cancel";
  const xml_element* info = alert.first(ns, "info");

  // Bluelink's own parameters, in document order.
  std::vector<std::pair<std::string, const xml_element*>> params;
  bool area_generated = false;
  if (info)
    for (const xml_element* p : info->all(ns, "parameter")) {
      const xml_element* vn = p->first(ns, "valueName");
      const xml_element* v = p->first(ns, "value");
      if (!vn) return missing(*p, "valueName");
      if (!v) return missing(*p, "value");
      std::string name = trim(vn->text);
      if (name.rfind(param_prefix, 0) != 0) continue;
      name.erase(0, param_prefix.size());
      if (name == "areaDesc")
        area_generated = true;
      else
        params.emplace_back(name, p);
    }
  const bool from_bluelink = !params.empty() || area_generated;

  json msg = json::object();
  static const std::regex agency_re = make_safe_regex("^[a-z0-9][a-z0-9-]{1,62}$");
  static const std::regex key_re = make_safe_regex("^[A-Za-z0-9._~:-]{1,128}$");
  if (!std::regex_match(sender, agency_re))
    return not_derivable("/from", "<sender> '" + sender + "' at " + e_sender.where() +
                                      " is not a Bluelink agency id (2-63 lower-case letters, "
                                      "digits and hyphens)");
  if (identifier.rfind(sender + ":", 0) == 0 || from_bluelink) {
    msg["id"] = identifier;
  } else {
    if (!std::regex_match(identifier, key_re))
      return not_derivable("/id", "<identifier> '" + identifier + "' at " + e_id.where() +
                                      " has characters outside [A-Za-z0-9._~:-] or is longer "
                                      "than 128");
    msg["id"] = sender + ":" + identifier;
  }
  msg["type"] = type;
  msg["from"] = sender;
  if (const xml_element* a = alert.first(ns, "addresses")) {
    json to = json::array();
    std::string t = a->text;
    std::size_t i = 0;
    while (i < t.size()) {
      if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
        ++i;
        continue;
      }
      std::size_t j = i;
      if (t[i] == '"') {
        j = t.find('"', i + 1);
        if (j == std::string::npos) return bad_value(*a, t, "a list of addresses (unclosed quote)");
        to.push_back(t.substr(i + 1, j - i - 1));
        i = j + 1;
      } else {
        while (j < t.size() && t[j] != ' ' && t[j] != '\t' && t[j] != '\n' && t[j] != '\r') ++j;
        to.push_back(t.substr(i, j - i));
        i = j;
      }
    }
    if (!to.empty()) msg["to"] = std::move(to);
  }
  msg["sent_at"] = std::get<std::string>(sent);
  if (status == "Exercise") msg["mode"] = "exercise";
  if (status == "Test") msg["mode"] = "test";
  if (const xml_element* r = alert.first(ns, "references")) {
    // "sender,identifier,sent" triples; the transfer is the one named by "bluelink".
    std::string refs = trim(r->text);
    static const std::regex ref_re = make_safe_regex("(^|\\s)bluelink,(T-[0-9]{8}-[0-9]{6}),");
    std::smatch m;
    if (std::regex_search(refs, m, ref_re)) msg["transfer_id"] = m[2].str();
  }
  if (type != "transfer.request" && !msg.contains("transfer_id"))
    return not_derivable("/transfer_id", "a CAP " + msg_type +
                                             " must name the transfer in <references> as "
                                             "'bluelink,T-YYYYMMDD-NNNNNN,<sent>'");

  json body = json::object();
  std::string note;
  if (const xml_element* n = alert.first(ns, "note")) note = n->text;

  if (info) {
    for (const char* req : {"category", "event", "urgency", "severity", "certainty"})
      if (!info->first(ns, req)) return missing(*info, req);
    const xml_element& e_cat = *info->first(ns, "category");
    std::string cat = trim(e_cat.text);
    bool known = false;
    for (const char* c : cap_categories) known = known || cat == c;
    if (!known)
      return bad_value(e_cat, cat,
                       "a CAP category (Geo, Met, Safety, Security, Rescue, Fire, Health, Env, "
                       "Transport, Infra, CBRNE or Other)");
    const xml_element& e_urg = *info->first(ns, "urgency");
    std::string urgency = trim(e_urg.text);
    if (!one_of(urgency, {"Immediate", "Expected", "Future", "Past", "Unknown"}))
      return bad_value(e_urg, urgency,
                       "a CAP urgency (Immediate, Expected, Future, Past or Unknown)");
    for (const auto& p : prios)
      if (urgency == p.urgency) body["priority"] = p.priority;
    if (urgency == "Past" && !from_bluelink) body["priority"] = "routine";
    if (const xml_element* ex = info->first(ns, "expires")) {
      auto t = cap_time(*ex);
      if (auto* e = std::get_if<translate_error>(&t)) return *e;
      msg["expires_at"] = std::get<std::string>(t);
    }
    if (const xml_element* h = info->first(ns, "headline"); h && !h->text.empty())
      body["summary"] = from_bluelink ? h->text : clip(trim(h->text), 200);
    if (const xml_element* ins = info->first(ns, "instruction")) {
      for (const auto& p : asks)
        if (ins->text == p.instruction) body["ask"] = p.ask;
      if (!body.contains("ask") && from_bluelink)
        return bad_value(*ins, ins->text, "one of the Bluelink ask instructions");
    }
    json loc = json::object();
    if (const xml_element* area = info->first(ns, "area"))
      if (auto e = import_area(*area, loc, area_generated)) return *e;

    if (!from_bluelink && type == "transfer.request") {
      // A partner's alert: derive what Bluelink needs from CAP's own elements.
      std::string category = "notification";
      for (const auto& [c, bc] : partner_categories)
        if (cat == c) category = bc;
      body["category"] = category;
      body["ask"] = category == "notification" ? "for_information" : "attend";
      if (!body.contains("priority")) body["priority"] = "routine";
      std::string event = trim(info->first(ns, "event")->text);
      if (!body.contains("summary")) {
        if (event.empty())
          return not_derivable("/body/summary",
                               "the alert has no <headline> and "
                               "an empty <event>");
        body["summary"] = clip(event, 200);
      }
      if (identifier.size() > 40)
        return not_derivable("/body/sender_incident/number",
                             "<identifier> '" + identifier + "' is longer than 40 characters");
      body["sender_incident"] = {{"number", identifier}, {"system", "CAP"}};
      if (loc.empty())
        return not_derivable("/body/methane/exact_location",
                             "the alert's <info> (at " + info->where() +
                                 ") has no <area> with an <areaDesc>, <circle> or postcode");
      std::string code = cat;
      for (auto& ch : code) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      body["methane"] = {
          {"major_incident", "not_declared"},
          {"exact_location", loc},
          {"type_of_incident", {{"code", code}, {"text", event.empty() ? cat : clip(event, 500)}}}};
      std::string notes;
      if (const xml_element* d = info->first(ns, "description")) notes = trim(d->text);
      if (const xml_element* ins = info->first(ns, "instruction"); ins && !trim(ins->text).empty())
        notes += (notes.empty() ? "" : "\n") + std::string("Instruction: ") + trim(ins->text);
      if (!trim(note).empty()) notes += (notes.empty() ? "" : "\n") + trim(note);
      if (!notes.empty()) body["notes"] = clip(notes, 2000);
      if (const xml_element* c = info->first(ns, "contact"); c && !trim(c->text).empty())
        body["contact"] = {{"name", clip(trim(c->text), 100)}};
    } else if (!loc.empty()) {
      body["methane"]["exact_location"] = loc;
    }
  } else if (type == "transfer.request") {
    return missing(alert, "info");
  }

  if (type == "transfer.request" && !note.empty() && from_bluelink) body["notes"] = note;
  if (type == "transfer.update") {
    if (trim(note).empty())
      return not_derivable("/body/text", "a CAP Update needs a <note> saying what changed");
    body["text"] = note;
  }
  if (type == "transfer.cancel") {
    if (trim(note).empty())
      return not_derivable("/body/reason", "a CAP Cancel needs a <note> giving the reason");
    body["reason"] = note;
    body.erase("priority");
  }
  msg["body"] = std::move(body);

  for (const auto& [pointer, el] : params) {
    const xml_element* v = el->first(ns, "value");
    if (auto e = set_param(msg, pointer, v->text, *el)) return *e;
  }
  if (type == "transfer.update" && !msg.contains("version"))
    return not_derivable("/version",
                         "a CAP Update from outside Bluelink carries no transfer "
                         "version (parameter bluelink:/version)");
  if (auto e = check_message(msg, schemas)) return *e;
  return msg;
}

}  // namespace bl::adapters
