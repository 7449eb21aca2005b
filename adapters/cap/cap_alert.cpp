#include "adapters/cap/cap_alert.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <utility>
#include <variant>
#include <vector>

#include "adapters/cap/cap_partner.hpp"
#include "adapters/cap/json_text.hpp"
#include "adapters/text/methane_text.hpp"
#include "gateway/core/config.hpp"
#include "gateway/core/digest.hpp"
#include "gateway/core/message.hpp"
#include "gateway/core/safe_regex.hpp"
#include "gateway/schema/schema_set.hpp"

namespace bl::adapters {

using nlohmann::json;

namespace {

using cap_detail::clip_chars;
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
    "hazards",          "present",         "required",   "casualties", "emergency_services",
    "contact",          "methane",         "osgr",       "wgs84",      "exact_location",
    "type_of_incident", "sender_incident", "not_carried"};

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
  // The location's own areas follow, one <area> each; an import reads the areas after the first
  // back into the list.
  if (loc.contains("areas"))
    for (const auto& a : loc["areas"]) {
      w.open("area");
      w.leaf("areaDesc", str(a, "description"));
      if (a.contains("polygons"))
        for (const auto& ring : a["polygons"]) {
          std::string t;
          for (const auto& pt : ring)
            t += (t.empty() ? "" : " ") + number_text(pt[0]) + "," + number_text(pt[1]);
          w.leaf("polygon", t);
        }
      if (a.contains("circles"))
        for (const auto& c : a["circles"])
          w.leaf("circle", number_text(c["lat"]) + "," + number_text(c["lon"]) + " " +
                               number_text(json(c["radius_m"].get<double>() / 1000.0)));
      if (a.contains("geocodes"))
        for (const auto& g : a["geocodes"]) w.pair("geocode", str(g, "name"), str(g, "value"));
      w.close("area");
    }
}

void methane_params(param_list& params, const json& methane) {
  for (const auto& [k, v] : methane.items()) {
    if (k != "exact_location") {
      add_params(params, "/body/methane/" + escape_token(k), v);
      continue;
    }
    for (const auto& [lk, lv] : v.items()) {
      if (lk == "address" || lk == "postcode" || lk == "uprn" || lk == "what3words") continue;
      if (lk == "wgs84" || lk == "areas") continue;  // the <area> elements carry them
      add_params(params, "/body/methane/exact_location/" + escape_token(lk), lv);
    }
  }
}

}  // namespace

partner_context partner_context_of(const gateway_config& cfg, std::string as_agency) {
  partner_context ctx;
  ctx.as_agency = std::move(as_agency);
  for (const auto& p : cfg.partners) {
    for (const auto& s : p.cap_senders) ctx.senders.emplace(s, p.agency);
    for (const auto& s : p.edxl_senders) ctx.edxl_senders.emplace(s, p.agency);
    for (const auto& s : p.eido_ids) ctx.eido_ids.emplace(s, p.agency);
    if (!p.default_to.empty()) ctx.default_to_of.emplace(p.agency, p.default_to);
  }
  return ctx;
}

std::string partner_message_id(const std::string& agency, const std::string& sender,
                               const std::string& identifier) {
  // The partner's identifier under the agency, or a digest of it when it has characters an id
  // may not (the identifier itself stays in source.identifier).
  static const std::regex key_re = make_safe_regex("^[A-Za-z0-9._~:-]{1,128}$");
  std::string key = identifier;
  if (!std::regex_match(key, key_re))
    key = "cap-" + sha256_hex(sender + "\n" + identifier).substr(0, 32);
  return agency + ":" + key;
}

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
  if (msg.contains("source")) add_params(params, "/source", msg["source"]);

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
  if (pointer.rfind("/body/", 0) != 0 && pointer.rfind("/source/", 0) != 0 &&
      envelope.count(pointer) == 0)
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

std::optional<translate_error> import_area(const xml_element& area, const std::string& cns,
                                           json& loc, bool address_generated) {
  const xml_element* desc = area.first(cns, "areaDesc");
  if (!desc) return missing(area, "areaDesc");
  if (!address_generated && !trim(desc->text).empty()) loc["address"] = desc->text;
  if (const xml_element* c = area.first(cns, "circle")) {
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
  for (const xml_element* g : area.all(cns, "geocode")) {
    const xml_element* vn = g->first(cns, "valueName");
    const xml_element* v = g->first(cns, "value");
    if (!vn) return missing(*g, "valueName");
    if (!v) return missing(*g, "value");
    std::string name = trim(vn->text);
    if (name == "postcode" || name == "uprn" || name == "what3words") loc[name] = trim(v->text);
  }
  return std::nullopt;
}

// What cap_import() has read of a partner's alert before its <info> is carried.
struct partner_alert {
  const xml_element& alert;
  const std::string& cns;  // the alert's CAP namespace (1.2 or 1.1)
  const std::string& standard;
  const xml_element* info;  // the <info> carried (English first), or nullptr
  const std::vector<const xml_element*>& infos;
  const partner_context& partner;
  const std::string& from;  // the agency, settled
  const std::string& sender;
  const std::string& identifier;
  const std::string& status;
  const std::string& msg_type;
  const std::string& sent;  // RFC 3339
};

constexpr const char* xmldsig_ns = "http://www.w3.org/2000/09/xmldsig#";

// A Bluelink agency id (common.schema.json#/definitions/agency_id).
const std::regex& agency_re() {
  static const std::regex re = make_safe_regex("^[a-z0-9][a-z0-9-]{1,62}$");
  return re;
}

// Joins non-empty paragraphs with a blank line between them.
void add_paragraph(std::string& out, const std::string& text) {
  if (text.empty()) return;
  out += (out.empty() ? "" : "\n\n") + text;
}

std::variant<json, translate_error> import_partner_alert(const partner_alert& a,
                                                         const schema_set& schemas) {
  using cap_detail::plain_text;
  const std::string& cns = a.cns;
  std::vector<std::string> not_carried;
  auto text_of = [&](const xml_element& parent, const char* name) {
    const xml_element* e = parent.first(cns, name);
    return e ? plain_text(e->text) : std::string();
  };

  json msg = json::object();
  msg["id"] = partner_message_id(a.from, a.sender, a.identifier);
  msg["from"] = a.from;
  msg["sent_at"] = a.sent;
  if (a.status == "Exercise") msg["mode"] = "exercise";
  if (a.status == "Test") msg["mode"] = "test";
  json source = {{"standard", a.standard},
                 {"sender", clip_chars(a.sender, 300)},
                 {"identifier", clip_chars(a.identifier, 300)}};

  // An Update or Cancel names the alerts it follows; the latest one Bluelink holds is the
  // transfer it updates or cancels.
  std::optional<referenced_transfer> target;
  std::string concerns;  // for an Update or Cancel of an alert Bluelink does not hold
  if (a.msg_type != "Alert") {
    const xml_element* r = a.alert.first(cns, "references");
    if (!r)
      return make_translate_error("bl.cap.missing_element",
                                  "CAP <alert> (at " + a.alert.where() + ") is an " + a.msg_type +
                                      " but has no <references> naming the alert it follows");
    auto refs = cap_detail::read_references(*r);
    if (auto* e = std::get_if<translate_error>(&refs)) return *e;
    const auto& list = std::get<std::vector<cap_detail::cap_reference>>(refs);
    source["references"] = clip_chars(trim(r->text), 4000);
    if (a.partner.transfer_of)
      for (auto it = list.rbegin(); it != list.rend() && !target; ++it)
        target = a.partner.transfer_of(it->sender, it->identifier);
    if (!target) {
      const auto& last = list.back();
      concerns = "This CAP " + a.msg_type + " follows alert " + last.identifier + " from " +
                 last.sender + " (sent " + last.sent + ")" +
                 (list.size() > 1 ? " and " + std::to_string(list.size() - 1) + " earlier" : "") +
                 ", which Bluelink does not hold, so it is carried as a new notification.";
    }
  }

  // Alert-level content the canonical message has no place for.
  for (const auto& child : a.alert.children) {
    if (child.ns == xmldsig_ns && child.name == "Signature")
      not_carried.push_back(
          "an XML signature (<Signature>, XML-DSig): Bluelink does not check it, and this "
          "message does not carry it");
    else if (child.ns == cns && child.name == "code")
      not_carried.push_back("<code> " + clip_chars(trim(child.text), 200));
    else if (child.ns != cns)
      not_carried.push_back("<" + clip_chars(child.name, 100) + "> in namespace '" +
                            clip_chars(child.ns, 200) + "'");
  }
  // Other <info> blocks: another language's is listed; one in the same language is more of the
  // same alert (CAP-AU sends one per geocode scheme), so its areas are carried with the first's.
  auto language_of = [&](const xml_element* i) {
    std::string l = text_of(*i, "language");
    for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return l.empty() ? std::string("en-us") : l;
  };
  std::vector<const xml_element*> same_language;
  for (std::size_t i = 0; a.info && i < a.infos.size(); ++i) {
    const xml_element* other = a.infos[i];
    if (other == a.info) continue;
    std::string what = "<info> " + std::to_string(i + 1) + " of " + std::to_string(a.infos.size()) +
                       " (" + text_of(*other, "language") + "): ";
    if (what.find("()") != std::string::npos) what.replace(what.find("()"), 2, "(en-US)");
    std::string event = text_of(*other, "event"), headline = text_of(*other, "headline");
    bool same_text = true;
    for (const char* k :
         {"event", "headline", "description", "instruction", "urgency", "severity", "certainty"})
      same_text = same_text && text_of(*other, k) == text_of(*a.info, k);
    if (language_of(other) == language_of(a.info)) {
      same_language.push_back(other);
      what += same_text
                  ? "its areas are carried with the first's; the rest of it is the same"
                  : "its areas are carried; its text is not: event '" + clip_chars(event, 200) +
                        "', headline '" + clip_chars(headline, 300) + "'";
    } else {
      what += "event '" + clip_chars(event, 200) + "'";
      if (!headline.empty()) what += ", headline '" + clip_chars(headline, 300) + "'";
    }
    not_carried.push_back(what);
  }

  // The recipient: the partner's configured one, else a Bluelink agency its <addresses> names.
  std::string to = a.partner.default_to;
  if (auto it = a.partner.default_to_of.find(a.from);
      to.empty() && it != a.partner.default_to_of.end())
    to = it->second;
  if (const xml_element* ad = a.alert.first(cns, "addresses")) {
    std::string list = trim(ad->text);
    if (to.empty()) {
      std::istringstream in(list);
      for (std::string w; in >> w;)
        if (std::regex_match(w, agency_re())) {
          to = w;
          break;
        }
    }
    // Addresses other than the recipient are the partner's own (e-mail addresses, its groups).
    std::string others;
    std::istringstream in(list);
    for (std::string w; in >> w;)
      if (w != to) others += (others.empty() ? "" : " ") + w;
    if (!others.empty())
      not_carried.push_back("<addresses> " + clip_chars(others, 300) + " (delivered to " +
                            (to.empty() ? std::string("no one") : to) + " only)");
  }

  json body = json::object();
  const xml_element* info = a.info;
  if (!info) {
    if (a.msg_type == "Cancel" && target) {
      msg["type"] = "transfer.cancel";
      msg["transfer_id"] = target->transfer_id;
      std::string note = text_of(a.alert, "note");
      body["reason"] = clip_chars(note.empty() ? "Cancelled by " + a.sender : note, 500);
      msg["body"] = std::move(body);
      source["not_carried"] = not_carried;
      msg["source"] = std::move(source);
      if (auto e = check_message(msg, schemas)) return *e;
      return msg;
    }
    return make_translate_error("bl.cap.missing_element",
                                "CAP <alert> (at " + a.alert.where() +
                                    ") has no <info>, so there is nothing to show an operator");
  }

  for (const char* req : {"category", "event", "urgency", "severity", "certainty"})
    if (!info->first(cns, req)) return missing(*info, req);
  std::vector<std::string> cats;
  for (const xml_element* c : info->all(cns, "category")) {
    std::string cat = trim(c->text);
    bool known = false;
    for (const char* k : cap_categories) known = known || cat == k;
    if (!known)
      return bad_value(*c, cat,
                       "a CAP category (Geo, Met, Safety, Security, Rescue, Fire, Health, Env, "
                       "Transport, Infra, CBRNE or Other)");
    cats.push_back(cat);
  }
  const xml_element& e_urg = *info->first(cns, "urgency");
  const xml_element& e_sev = *info->first(cns, "severity");
  const xml_element& e_cer = *info->first(cns, "certainty");
  std::string urgency = trim(e_urg.text), severity = trim(e_sev.text), certainty = trim(e_cer.text);
  if (!one_of(urgency, {"Immediate", "Expected", "Future", "Past", "Unknown"}))
    return bad_value(e_urg, urgency,
                     "a CAP urgency (Immediate, Expected, Future, Past or Unknown)");
  if (!one_of(severity, {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}))
    return bad_value(e_sev, severity,
                     "a CAP severity (Extreme, Severe, Moderate, Minor or Unknown)");
  if (certainty == "Very Likely") certainty = "Likely";  // CAP 1.0's value, kept by 1.1 readers
  if (!one_of(certainty, {"Observed", "Likely", "Possible", "Unlikely", "Unknown"}))
    return bad_value(e_cer, certainty,
                     "a CAP certainty (Observed, Likely, Possible, Unlikely or Unknown)");
  const std::string priority = cap_detail::priority_of(urgency, severity, certainty);

  const std::string event = text_of(*info, "event");
  const std::string headline = text_of(*info, "headline");
  std::string summary = headline.empty() ? event : headline;
  if (summary.empty())
    return not_derivable("/body/summary", "the alert's <info> (at " + info->where() +
                                              ") has no <headline> and an empty <event>");
  if (!target && a.msg_type == "Update") summary = "Update: " + summary;
  if (!target && a.msg_type == "Cancel") summary = "Cancelled: " + summary;
  bool clipped = false;
  summary = clip_chars(summary, 200, &clipped);
  if (clipped) not_carried.push_back("the end of the headline (over 200 characters)");

  // Every area, as written.
  json areas = json::array();
  std::vector<const xml_element*> area_sources = {info};
  area_sources.insert(area_sources.end(), same_language.begin(), same_language.end());
  for (const xml_element* src : area_sources)
    for (const xml_element* ar : src->all(cns, "area")) {
      if (areas.size() == 100) {
        not_carried.push_back("a further <area> (more than 100)");
        continue;
      }
      auto one = cap_detail::read_area(*ar, cns, not_carried);
      if (auto* e = std::get_if<translate_error>(&one)) return *e;
      json area = std::get<json>(std::move(one));
      if (std::find(areas.begin(), areas.end(), area) == areas.end())
        areas.push_back(std::move(area));
    }
  json loc = json::object();
  if (areas.empty()) areas.push_back({{"description", "The alert names no area"}});
  // A single point (a circle of radius 0) is a position as well as an area.
  std::size_t circles = 0;
  for (const auto& ar : areas) circles += ar.contains("circles") ? ar["circles"].size() : 0;
  if (circles == 1 && !areas.front().contains("polygons"))
    for (const auto& ar : areas)
      if (ar.contains("circles") && ar["circles"][0]["radius_m"] == 0)
        loc["wgs84"] = {{"lat", ar["circles"][0]["lat"]}, {"lon", ar["circles"][0]["lon"]}};
  static const std::regex postcode_re =
      make_safe_regex("^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$");
  for (const auto& ar : areas)
    if (ar.contains("geocodes"))
      for (const auto& g : ar["geocodes"]) {
        const std::string n = g["name"].get<std::string>(), v = g["value"].get<std::string>();
        if (n == "postcode" && std::regex_match(v, postcode_re) && !loc.contains("postcode"))
          loc["postcode"] = v;
      }
  loc["areas"] = std::move(areas);

  json type_of = {{"code", cap_detail::incident_code(cats.front(), event)},
                  {"text", clip_chars(event.empty() ? cats.front() : event, 500)}};
  const auto event_codes = info->all(cns, "eventCode");
  for (std::size_t i = 0; i < event_codes.size(); ++i) {
    std::string n = text_of(*event_codes[i], "valueName"), v = text_of(*event_codes[i], "value");
    if (i == 0 && !v.empty() && v.size() <= 40)
      type_of["agency_code"] = v;
    else
      not_carried.push_back("<eventCode> " + clip_chars(n, 200) + " = " + clip_chars(v, 200));
  }
  json methane = {{"major_incident", "not_declared"},
                  {"exact_location", std::move(loc)},
                  {"type_of_incident", std::move(type_of)}};

  // The free text an operator reads, as written, markup stripped.
  std::string notes;
  add_paragraph(notes, concerns);
  add_paragraph(notes, text_of(*info, "description"));
  if (auto t = text_of(*info, "instruction"); !t.empty()) add_paragraph(notes, "Instruction: " + t);
  std::string responses;
  for (const xml_element* r : info->all(cns, "responseType"))
    responses += (responses.empty() ? "" : ", ") + trim(r->text);
  if (!responses.empty()) add_paragraph(notes, "The public is told: " + responses);
  if (cats.size() > 1) {
    std::string all;
    for (const auto& c : cats) all += (all.empty() ? "" : ", ") + c;
    add_paragraph(notes, "CAP categories: " + all);
  }
  std::string times;
  for (const char* t : {"effective", "onset", "expires"})
    if (auto v = text_of(*info, t); !v.empty())
      times += std::string(times.empty() ? "" : ", ") + static_cast<char>(t[0] - 'a' + 'A') +
               (t + 1) + " " + v;
  add_paragraph(notes, times);
  if (auto v = text_of(*info, "audience"); !v.empty()) add_paragraph(notes, "Audience: " + v);
  if (auto v = text_of(*info, "web"); !v.empty()) add_paragraph(notes, "Web: " + v);
  if (auto v = text_of(a.alert, "restriction"); !v.empty())
    add_paragraph(notes, "Restriction: " + v);
  if (auto v = text_of(a.alert, "source"); !v.empty()) add_paragraph(notes, "Source: " + v);
  if (auto v = text_of(a.alert, "note"); !v.empty()) add_paragraph(notes, "Note: " + v);
  std::size_t full = notes.size();
  notes = clip_chars(notes, 2000, &clipped);
  if (clipped)
    not_carried.push_back("the end of the text (" + std::to_string(full - notes.size()) +
                          " bytes over the 2000 characters of notes)");

  for (const xml_element* p : info->all(cns, "parameter")) {
    std::string n = text_of(*p, "valueName"), v = text_of(*p, "value");
    not_carried.push_back("<parameter> " + clip_chars(n, 200) + " = " + clip_chars(v, 500));
  }
  for (const xml_element* r : info->all(cns, "resource")) {
    std::string what = "<resource> '" + clip_chars(text_of(*r, "resourceDesc"), 200) + "'";
    if (auto m = text_of(*r, "mimeType"); !m.empty()) what += " (" + clip_chars(m, 100) + ")";
    if (auto u = text_of(*r, "uri"); !u.empty()) what += " at " + clip_chars(u, 500);
    if (r->first(cns, "derefUri")) what += ", embedded in the alert";
    not_carried.push_back(what);
  }

  json contact = json::object();
  if (auto c = text_of(*info, "contact"); !c.empty()) contact["name"] = clip_chars(c, 100);
  if (auto n = text_of(*info, "senderName"); !n.empty()) contact["role"] = clip_chars(n, 100);

  if (target && a.msg_type == "Update") {
    msg["type"] = "transfer.update";
    msg["transfer_id"] = target->transfer_id;
    msg["version"] = target->next_version;
    std::string note = text_of(a.alert, "note");
    body["text"] =
        clip_chars(note.empty() ? "Updated by " + a.sender + ": " + summary : note, 2000);
    body["summary"] = summary;
    body["priority"] = priority;
    body["methane"] = std::move(methane);
  } else if (target) {
    msg["type"] = "transfer.cancel";
    msg["transfer_id"] = target->transfer_id;
    std::string note = text_of(a.alert, "note");
    body["reason"] =
        clip_chars(note.empty() ? "Cancelled by " + a.sender + ": " + summary : note, 500);
  } else {
    if (to.empty())
      return not_derivable("/to",
                           "the alert names no Bluelink agency in <addresses> (a public alert "
                           "has none) and no recipient is configured for " +
                               a.from + " (partners[].default_to, or bluelink translate --for)");
    msg["type"] = "transfer.request";
    msg["to"] = json::array({to});
    // A partner's alert tells; it does not ask this control room for a service. The operator
    // decides what, if anything, to send (docs/protocols/cap-edxl.md, "Category").
    body["category"] = "notification";
    body["priority"] = priority;
    body["ask"] = "for_information";
    body["summary"] = summary;
    std::string number = a.identifier;
    if (auto inc = text_of(a.alert, "incidents"); !inc.empty()) {
      std::istringstream in(inc);
      std::string first;
      in >> first;
      if (!first.empty() && first.size() <= 40) number = first;
    }
    if (number.size() > 40)
      number = "CAP-" + sha256_hex(a.sender + "\n" + a.identifier).substr(0, 12);
    body["sender_incident"] = {{"number", number}, {"system", "CAP"}};
    body["methane"] = std::move(methane);
    if (!contact.empty()) body["contact"] = std::move(contact);
    if (!notes.empty()) body["notes"] = notes;
  }
  msg["body"] = std::move(body);
  if (not_carried.size() > 200) {
    std::size_t more = not_carried.size() - 199;
    not_carried.resize(199);
    not_carried.push_back("and " + std::to_string(more) + " more items");
  }
  for (auto& n : not_carried) n = clip_chars(n, 1000);
  source["not_carried"] = std::move(not_carried);
  msg["source"] = std::move(source);
  if (auto e = check_message(msg, schemas)) return *e;
  return msg;
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
  return cap_import(xml, schemas, partner_context{}, limits);
}

std::variant<json, translate_error> cap_import(std::string_view xml, const schema_set& schemas,
                                               const partner_context& partner,
                                               const xml_limits& limits) {
  auto parsed = read_xml(xml, limits);
  if (auto* e = std::get_if<translate_error>(&parsed)) return *e;
  return cap_import_element(std::get<xml_element>(parsed), schemas, partner);
}

std::variant<json, translate_error> cap_import_element(const xml_element& alert,
                                                       const schema_set& schemas,
                                                       const partner_context& partner) {
  if (alert.name == "alert" && alert.ns == "http://www.incident.com/cap/1.0")
    return make_translate_error("bl.cap.not_cap", "the alert at " + alert.where() +
                                                      " is CAP 1.0; Bluelink reads CAP 1.2 and "
                                                      "1.1");
  if (alert.name != "alert" || (alert.ns != ns && alert.ns != cap11_namespace))
    return make_translate_error(
        "bl.cap.not_cap", "the root element is <" + alert.name + "> in namespace '" + alert.ns +
                              "' at " + alert.where() + "; expected <alert> in " + ns +
                              " (or CAP 1.1's " + std::string(cap11_namespace) + ")");
  const std::string& cns = alert.ns;  // this alert's CAP namespace
  const std::string standard = cns == ns ? "CAP 1.2" : "CAP 1.1";

  auto text_of = [&](const xml_element& parent, const char* name) -> const xml_element* {
    return parent.first(cns, name);
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
  // The <info> to carry: the first in English (CAP's default language is en-US), else the first.
  const auto infos = alert.all(cns, "info");
  const xml_element* info = nullptr;
  for (const xml_element* i : infos) {
    const xml_element* l = i->first(cns, "language");
    std::string lang = l ? trim(l->text) : "en-US";
    if (lang.size() >= 2 && std::tolower(static_cast<unsigned char>(lang[0])) == 'e' &&
        std::tolower(static_cast<unsigned char>(lang[1])) == 'n') {
      info = i;
      break;
    }
  }
  if (!info && !infos.empty()) info = infos.front();

  // Bluelink's own parameters, in document order.
  std::vector<std::pair<std::string, const xml_element*>> params;
  bool area_generated = false;
  if (info)
    for (const xml_element* p : info->all(cns, "parameter")) {
      const xml_element* vn = p->first(cns, "valueName");
      const xml_element* v = p->first(cns, "value");
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
  // Bluelink's own alert (it wrote parameters), or one that names a Bluelink transfer in its
  // <references> (a cancel Bluelink exported carries no parameter).
  bool names_transfer = false;
  if (const xml_element* r = alert.first(cns, "references"))
    if (auto refs = cap_detail::read_references(*r);
        auto* list = std::get_if<std::vector<cap_detail::cap_reference>>(&refs))
      for (const auto& ref : *list)
        names_transfer =
            names_transfer || (ref.sender == "bluelink" && ref.identifier.rfind("T-", 0) == 0);
  const bool from_bluelink = !params.empty() || area_generated || names_transfer;

  // Who it is from: the link's agency when there is one (authoritative), checked against what
  // the document says; else the agency the document's sender maps to, or is.
  std::string agency;
  if (auto it = partner.senders.find(sender); it != partner.senders.end())
    agency = it->second;
  else if (std::regex_match(sender, agency_re()))
    agency = sender;
  std::string from;
  if (!partner.as_agency.empty()) {
    if (agency.empty())
      return make_translate_error(
          "bl.partner.unknown_sender",
          "<sender> '" + clip_chars(sender, 120) + "' at " + e_sender.where() +
              " is not an identity of " + partner.as_agency +
              " (the configuration's partners[].cap_senders lists a partner's CAP senders)");
    if (agency != partner.as_agency)
      return make_translate_error("bl.partner.sender_mismatch",
                                  "<sender> '" + clip_chars(sender, 120) + "' at " +
                                      e_sender.where() + " is " + agency +
                                      "'s, but the document came from " + partner.as_agency);
    from = partner.as_agency;
  } else if (agency.empty()) {
    return not_derivable("/from", "<sender> '" + clip_chars(sender, 120) + "' at " +
                                      e_sender.where() +
                                      " is neither a Bluelink agency id nor a partner's CAP "
                                      "sender in the configuration (partners[].cap_senders; "
                                      "bluelink translate --config FILE, or --as AGENCY)");
  } else {
    from = agency;
  }
  if (!from_bluelink)
    return import_partner_alert({alert, cns, standard, info, infos, partner, from, sender,
                                 identifier, status, msg_type, std::get<std::string>(sent)},
                                schemas);

  json msg = json::object();
  msg["id"] = identifier;
  msg["type"] = type;
  msg["from"] = from;
  if (const xml_element* a = alert.first(cns, "addresses")) {
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
  if (const xml_element* r = alert.first(cns, "references")) {
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
  if (const xml_element* n = alert.first(cns, "note")) note = n->text;

  if (info) {
    for (const char* req : {"category", "event", "urgency", "severity", "certainty"})
      if (!info->first(ns, req)) return missing(*info, req);
    const xml_element& e_cat = *info->first(cns, "category");
    std::string cat = trim(e_cat.text);
    bool known = false;
    for (const char* c : cap_categories) known = known || cat == c;
    if (!known)
      return bad_value(e_cat, cat,
                       "a CAP category (Geo, Met, Safety, Security, Rescue, Fire, Health, Env, "
                       "Transport, Infra, CBRNE or Other)");
    const xml_element& e_urg = *info->first(cns, "urgency");
    std::string urgency = trim(e_urg.text);
    if (!one_of(urgency, {"Immediate", "Expected", "Future", "Past", "Unknown"}))
      return bad_value(e_urg, urgency,
                       "a CAP urgency (Immediate, Expected, Future, Past or Unknown)");
    for (const auto& p : prios)
      if (urgency == p.urgency) body["priority"] = p.priority;
    if (const xml_element* ex = info->first(cns, "expires")) {
      auto t = cap_time(*ex);
      if (auto* e = std::get_if<translate_error>(&t)) return *e;
      msg["expires_at"] = std::get<std::string>(t);
    }
    if (const xml_element* h = info->first(cns, "headline"); h && !h->text.empty())
      body["summary"] = h->text;
    if (const xml_element* ins = info->first(cns, "instruction")) {
      for (const auto& p : asks)
        if (ins->text == p.instruction) body["ask"] = p.ask;
      if (!body.contains("ask"))
        return bad_value(*ins, ins->text, "one of the Bluelink ask instructions");
    }
    json loc = json::object();
    const auto areas = info->all(cns, "area");
    if (!areas.empty())
      if (auto e = import_area(*areas.front(), cns, loc, area_generated)) return *e;
    // Areas after the first are the location's own list (an exporting Bluelink wrote them).
    if (areas.size() > 1) {
      std::vector<std::string> ignored;
      json list = json::array();
      for (std::size_t i = 1; i < areas.size(); ++i) {
        auto a = cap_detail::read_area(*areas[i], cns, ignored);
        if (auto* e = std::get_if<translate_error>(&a)) return *e;
        list.push_back(std::get<json>(std::move(a)));
      }
      loc["areas"] = std::move(list);
    }

    if (!loc.empty()) {
      body["methane"]["exact_location"] = loc;
    }
  } else if (type == "transfer.request") {
    return missing(alert, "info");
  }

  if (type == "transfer.request" && !note.empty()) body["notes"] = note;
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
    const xml_element* v = el->first(cns, "value");
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
