#include "adapters/text/methane_text.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/time_util.hpp"

namespace bl::adapters {

using nlohmann::json;

namespace {

constexpr std::size_t label_width = 26;  // "N  Number of casualties: " plus a space

// Characters in a UTF-8 string (the bytes that do not continue a character).
std::size_t chars(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The bytes of the first `n` characters of `s`.
std::size_t prefix_bytes(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  while (i < s.size() && n > 0) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    --n;
  }
  return i;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string number(const json& v) {
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_float()) {
    double d = v.get<double>();
    char buf[64];
    if (std::floor(d) == d && std::fabs(d) < 1e15)
      std::snprintf(buf, sizeof buf, "%.0f", d);
    else
      std::snprintf(buf, sizeof buf, "%.6g", d);
    return buf;
  }
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

std::string category_label(const std::string& c) {
  static const std::pair<const char*, const char*> labels[] = {
      {"police.traffic_management", "Police: traffic management / road closure"},
      {"police.scene_security", "Police: scene security"},
      {"police.violence_threat", "Police: violence or threat at scene"},
      {"fire.forced_entry", "Fire: forced entry"},
      {"fire.missing_person_search", "Fire: missing person search support"},
      {"fire.vehicle_removal_srn", "Fire: vehicle removal, strategic road network"},
      {"fire.hazardous_materials", "Fire: hazardous materials"},
      {"fire.rescue", "Fire: rescue"},
      {"ambulance.casualty_care", "Ambulance: casualty care"},
      {"info.address_risk", "Information: risk at an address"},
      {"notification", "Notification, for information"},
  };
  for (const auto& [k, v] : labels)
    if (c == k) return v;
  return c.empty() ? "not given" : c;
}

std::string ask_label(const std::string& a) {
  if (a == "attend") return "Attend - send resources";
  if (a == "take_over") return "Take over - assume primacy of the incident";
  if (a == "for_information") return "For information - acknowledge only";
  if (a == "information_request") return "Information request - reply with information";
  return a.empty() ? "not given" : a;
}

std::string major_label(const std::string& m) {
  if (m == "declared") return "DECLARED";
  if (m == "standby") return "Standby";
  if (m == "not_declared") return "Not declared";
  return m.empty() ? "not given" : m;
}

const char* weekday(std::int64_t days) {
  static const char* const names[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  auto i = ((days % 7) + 7) % 7;  // 1970-01-01 was a Thursday
  return names[i];
}

// "Sat 21 Nov 2026 14:02:11 GMT (14:02:11 UTC)".
std::string uk_time(const std::string& rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  if (!t) return rfc3339.empty() ? "not given" : rfc3339;
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto fmt = [&](time_point tp, bool with_date) {
    std::int64_t secs = to_ms(tp) / 1000;
    if (to_ms(tp) < 0 && to_ms(tp) % 1000 != 0) --secs;
    std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    std::int64_t sod = secs - days * 86400;
    int y = 0, m = 0, d = 0;
    civil_from_days(days, y, m, d);
    char buf[64];
    if (with_date)
      std::snprintf(buf, sizeof buf, "%s %d %s %d %02d:%02d:%02d", weekday(days), d, months[m - 1],
                    y, static_cast<int>(sod / 3600), static_cast<int>(sod / 60 % 60),
                    static_cast<int>(sod % 60));
    else
      std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(sod / 3600),
                    static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
    return std::string(buf);
  };
  int off = uk_offset_minutes(*t);
  auto local = *t + std::chrono::minutes(off);
  return fmt(local, true) + (off ? " BST" : " GMT") + " (" + fmt(*t, false) + " UTC)";
}

class text_builder {
 public:
  // One labelled field: the label in the first column, the value wrapped beside it.
  void field(const std::string& label, const std::string& value) {
    std::string first = label;
    if (first.size() < label_width) first.append(label_width - first.size(), ' ');
    out_ += wrap(clean_text(value.empty() ? "not given" : value), first, label_width);
  }
  // A further value under the previous one.
  void more(const std::string& value) {
    out_ += wrap(clean_text(value), std::string(label_width, ' '), label_width);
  }
  void line(const std::string& text) { out_ += wrap(clean_text(text), "", 0); }
  void blank() { out_ += "\n"; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string lat_lon(double lat, double lon) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f, %.5f", lat, lon);
  return buf;
}

// An area's shapes and codes, one line each: "polygon of 34 points around 51.12345, 0.12345",
// "circle around 51.72290, 0.52530, radius 25 km", "codes: UGC CAZ017, FIPS6 006113".
std::vector<std::string> area_lines(const json& a) {
  std::vector<std::string> out;
  if (a.contains("polygons") && a["polygons"].is_array())
    for (const auto& poly : a["polygons"]) {
      if (!poly.is_array() || poly.empty()) continue;
      double lat = 0, lon = 0;
      std::size_t n = 0;
      for (const auto& p : poly)
        if (p.is_array() && p.size() == 2 && p[0].is_number() && p[1].is_number()) {
          lat += p[0].get<double>();
          lon += p[1].get<double>();
          ++n;
        }
      if (n == 0) continue;
      out.push_back("polygon of " + std::to_string(poly.size()) + " points around " +
                    lat_lon(lat / static_cast<double>(n), lon / static_cast<double>(n)));
    }
  if (a.contains("circles") && a["circles"].is_array())
    for (const auto& c : a["circles"]) {
      if (!c.is_object() || !c.contains("lat") || !c.contains("lon") || !c["lat"].is_number() ||
          !c["lon"].is_number())
        continue;
      double r =
          c.contains("radius_m") && c["radius_m"].is_number() ? c["radius_m"].get<double>() : 0.0;
      char rad[48];
      if (r >= 1000)
        std::snprintf(rad, sizeof rad, "%g km", r / 1000.0);
      else
        std::snprintf(rad, sizeof rad, "%g m", r);
      out.push_back(r > 0 ? "circle around " +
                                lat_lon(c["lat"].get<double>(), c["lon"].get<double>()) +
                                ", radius " + rad
                          : "point " + lat_lon(c["lat"].get<double>(), c["lon"].get<double>()));
    }
  if (a.contains("geocodes") && a["geocodes"].is_array() && !a["geocodes"].empty()) {
    std::string codes;
    std::size_t shown = 0;
    for (const auto& g : a["geocodes"]) {
      if (!g.is_object()) continue;
      if (shown == 6) {
        codes += " and " + std::to_string(a["geocodes"].size() - shown) + " more";
        break;
      }
      codes += (codes.empty() ? "" : ", ") + str(g, "name") + " " + str(g, "value");
      ++shown;
    }
    out.push_back("codes: " + codes);
  }
  return out;
}

void render_location(text_builder& b, const json& loc) {
  std::vector<std::string> parts;
  if (auto a = str(loc, "address"); !a.empty()) parts.push_back(a);
  if (auto p = str(loc, "postcode"); !p.empty()) parts.push_back("Postcode: " + upper(p));
  if (loc.contains("osgr") && loc["osgr"].is_object()) {
    const auto& g = loc["osgr"];
    if (g.contains("easting") && g.contains("northing") && g["easting"].is_number() &&
        g["northing"].is_number()) {
      auto letters = os_grid_letters(g["easting"].get<double>(), g["northing"].get<double>());
      std::string s = "Grid ref: ";
      if (!letters.empty()) s += letters + " (";
      s += "E " + number(g["easting"]) + " N " + number(g["northing"]);
      if (!letters.empty()) s += ")";
      parts.push_back(s);
    }
  }
  if (loc.contains("wgs84") && loc["wgs84"].is_object()) {
    const auto& w = loc["wgs84"];
    if (w.contains("lat") && w.contains("lon") && w["lat"].is_number() && w["lon"].is_number()) {
      char buf[96];
      std::snprintf(buf, sizeof buf, "Lat/lon: %.5f, %.5f", w["lat"].get<double>(),
                    w["lon"].get<double>());
      std::string s = buf;
      if (w.contains("accuracy_m") && w["accuracy_m"].is_number())
        s += " (+/- " + number(w["accuracy_m"]) + " m)";
      parts.push_back(s);
    }
  }
  if (auto u = str(loc, "uprn"); !u.empty()) parts.push_back("UPRN: " + u);
  if (auto w = str(loc, "what3words"); !w.empty()) parts.push_back("what3words: " + w);
  if (auto d = str(loc, "directions"); !d.empty()) parts.push_back("Directions: " + d);
  if (auto r = str(loc, "rendezvous_point"); !r.empty()) parts.push_back("RVP: " + r);
  if (loc.contains("areas") && loc["areas"].is_array()) {
    std::size_t n = 0;
    for (const auto& a : loc["areas"]) {
      if (!a.is_object()) continue;
      ++n;
      parts.push_back("Area " + std::to_string(n) + ": " + str(a, "description"));
      for (const auto& line : area_lines(a)) parts.push_back("- " + line);
    }
  }
  if (parts.empty()) {
    b.field("E  Exact location:", "");
    return;
  }
  b.field("E  Exact location:", parts[0]);
  for (std::size_t i = 1; i < parts.size(); ++i) b.more(parts[i]);
}

void render_methane(text_builder& b, const json& m) {
  b.field("M  Major incident:", major_label(str(m, "major_incident")));
  render_location(b, m.contains("exact_location") && m["exact_location"].is_object()
                         ? m["exact_location"]
                         : json::object());

  std::string type = "not given";
  if (m.contains("type_of_incident") && m["type_of_incident"].is_object()) {
    const auto& t = m["type_of_incident"];
    type = str(t, "code");
    if (auto ac = str(t, "agency_code"); !ac.empty()) type += " (" + ac + ")";
    if (auto tx = str(t, "text"); !tx.empty()) type += (type.empty() ? "" : " - ") + tx;
  }
  b.field("T  Type of incident:", type);

  std::vector<std::string> hazards;
  if (m.contains("hazards") && m["hazards"].is_array())
    for (const char* status : {"present", "suspected", "potential"})
      for (const auto& h : m["hazards"])
        if (h.is_object() && str(h, "status") == status) {
          std::string s = status;
          s[0] = static_cast<char>(s[0] - 'a' + 'A');
          hazards.push_back(s + ": " + str(h, "hazard"));
        }
  if (hazards.empty()) {
    b.field("H  Hazards:", m.contains("hazards") ? "none reported" : "");
  } else {
    b.field("H  Hazards:", hazards[0]);
    for (std::size_t i = 1; i < hazards.size(); ++i) b.more(hazards[i]);
  }

  b.field("A  Access:", str(m, "access"));

  if (m.contains("casualties") && m["casualties"].is_object()) {
    const auto& c = m["casualties"];
    std::string counts;
    for (const char* k : {"fatal", "immediate", "urgent", "delayed", "minor", "uninjured"})
      if (c.contains(k) && c[k].is_number()) {
        std::string label = k;
        label[0] = static_cast<char>(label[0] - 'a' + 'A');
        counts += (counts.empty() ? "" : ", ") + label + " " + number(c[k]);
      }
    b.field("N  Number of casualties:", counts.empty() ? "counts not given" : counts);
    if (auto n = str(c, "notes"); !n.empty()) b.more(n);
  } else {
    b.field("N  Number of casualties:", "");
  }

  std::vector<std::string> services;
  if (m.contains("emergency_services") && m["emergency_services"].is_object()) {
    const auto& es = m["emergency_services"];
    for (const char* k : {"present", "required"})
      if (es.contains(k) && es[k].is_array())
        for (const auto& s : es[k])
          if (s.is_string())
            services.push_back(std::string(k[0] == 'p' ? "Present: " : "Required: ") +
                               s.get<std::string>());
  }
  if (services.empty()) {
    b.field("E  Emergency services:", "");
  } else {
    b.field("E  Emergency services:", services[0]);
    for (std::size_t i = 1; i < services.size(); ++i) b.more(services[i]);
  }
}

void render_contact(text_builder& b, const json& body) {
  if (!body.contains("contact") || !body["contact"].is_object()) {
    b.field("Contact:", "");
    return;
  }
  const auto& c = body["contact"];
  std::string s;
  for (const char* k : {"name", "role", "phone"})
    if (auto v = str(c, k); !v.empty()) s += (s.empty() ? "" : ", ") + v;
  b.field("Contact:", s);
}

// Where a translated message came from and what of the document it does not carry.
void render_source(text_builder& b, const json& msg) {
  if (!msg.contains("source") || !msg["source"].is_object()) return;
  const json& src = msg["source"];
  b.blank();
  std::string from = str(src, "standard");
  if (auto s = str(src, "sender"); !s.empty()) from += " from " + s;
  if (auto id = str(src, "identifier"); !id.empty()) from += ", identifier " + id;
  b.field("Source document:", from);
  if (!src.contains("not_carried") || !src["not_carried"].is_array() ||
      src["not_carried"].empty()) {
    b.field("Not carried:", "nothing");
    return;
  }
  bool first = true;
  for (const auto& n : src["not_carried"]) {
    if (!n.is_string()) continue;
    if (first)
      b.field("Not carried:", n.get<std::string>());
    else
      b.more(n.get<std::string>());
    first = false;
  }
}

std::string incident_text(const json& ref) {
  if (!ref.is_object()) return {};
  std::string s = str(ref, "number");
  if (auto sys = str(ref, "system"); !sys.empty()) s += " (" + sys + ")";
  return s;
}

}  // namespace

std::string clean_text(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out += (c < 0x20 && c != '\n') || c == 0x7F ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    // A whole, shortest-form character is kept as it is; anything else is U+FFFD.
    std::size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    std::uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : c & 0x1Fu;
    bool ok = len > 1 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
      ok = false;
    if (!ok) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (cp >= 0x80 && cp < 0xA0)
      out += ' ';  // C1 controls
    else
      out.append(in.substr(i, len));
    i += len;
  }
  return out;
}

std::string wrap(std::string_view text, std::string_view first, std::size_t indent,
                 std::size_t width) {
  std::string out;
  std::string line(first);
  std::size_t cols = chars(first);  // characters on `line`
  const std::size_t start_cols = cols;
  const std::string pad(indent, ' ');
  bool any = false;
  auto flush = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    line = pad;
    cols = indent;
    any = false;
  };
  std::size_t i = 0;
  while (i <= text.size()) {
    if (i < text.size() && text[i] == '\n') {
      flush();
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\n') ++j;
    std::string_view word = text.substr(i, j - i);
    while (!word.empty()) {
      std::size_t room = width > cols + (any ? 1 : 0) ? width - cols - (any ? 1 : 0) : 0;
      std::size_t word_cols = chars(word);
      if (word_cols <= room) {
        if (any) line += ' ';
        line += word;
        cols += word_cols + (any ? 1 : 0);
        any = true;
        word = {};
      } else if (any) {
        flush();
      } else {
        // A word longer than a whole line: split it.
        std::size_t take = prefix_bytes(word, width > cols ? width - cols : 1);
        line += word.substr(0, take);
        word.remove_prefix(take);
        any = true;
        flush();
      }
    }
    if (j >= text.size()) break;
    i = text[j] == '\n' ? j : j + 1;  // a line break is the next step's, not a separator
  }
  if (any || cols != start_cols || out.empty()) flush();
  return out;
}

std::string os_grid_letters(double easting, double northing) {
  if (!(easting >= 0 && easting < 700000 && northing >= 0 && northing < 1300000)) return {};
  auto e = static_cast<long>(std::floor(easting));
  auto n = static_cast<long>(std::floor(northing));
  long e100 = e / 100000, n100 = n / 100000;
  long l1 = (19 - n100) - (19 - n100) % 5 + (e100 + 10) / 5;
  long l2 = (19 - n100) * 5 % 25 + e100 % 5;
  if (l1 > 7) ++l1;  // the grid skips the letter I
  if (l2 > 7) ++l2;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%c %05ld %05ld", static_cast<char>('A' + l1),
                static_cast<char>('A' + l2), e % 100000, n % 100000);
  return buf;
}

std::string methane_text(const json& msg) {
  text_builder b;
  const json empty = json::object();
  const json& body = msg.contains("body") && msg["body"].is_object() ? msg["body"] : empty;
  std::string type = str(msg, "type");
  std::string mode = str(msg, "mode");

  std::string title = "BLUELINK ";
  if (type == "transfer.request")
    title += str(body, "category") == "notification" ? "NOTIFICATION" : "TRANSFER REQUEST";
  else if (type == "transfer.update")
    title += "TRANSFER UPDATE";
  else if (type == "transfer.cancel")
    title += "TRANSFER CANCELLED";
  else
    title += upper(type.empty() ? std::string("message") : type);
  if (auto p = str(body, "priority"); !p.empty()) title += " - " + upper(p);
  if (mode == "exercise" || mode == "test")
    b.line(upper(mode) + " " + upper(mode) + " " + upper(mode));
  b.line(title);
  b.blank();

  std::string tid = str(msg, "transfer_id");
  b.field("Transfer:", tid.empty() ? "not yet assigned" : tid);
  if (msg.contains("version") && msg["version"].is_number())
    b.field("Version:", number(msg["version"]));
  std::string to;
  if (msg.contains("to") && msg["to"].is_array())
    for (const auto& t : msg["to"])
      if (t.is_string()) to += (to.empty() ? "" : ", ") + t.get<std::string>();
  b.field("From -> to:", str(msg, "from") + " -> " + (to.empty() ? "not given" : to));
  if (type == "transfer.request" || body.contains("priority"))
    b.field("Priority:", upper(str(body, "priority")));
  if (type == "transfer.request") b.field("Category:", category_label(str(body, "category")));
  b.field("Sent:", uk_time(str(msg, "sent_at")));
  if (body.contains("sender_incident"))
    b.field("Sender incident:", incident_text(body["sender_incident"]));
  if (body.contains("summary")) b.field("Summary:", str(body, "summary"));

  if (type == "transfer.update" && body.contains("text")) b.field("Update:", str(body, "text"));
  if (type == "transfer.cancel") {
    b.field("Reason:", str(body, "reason"));
    return b.take();
  }
  if (type != "transfer.request" && type != "transfer.update") {
    for (const auto& [k, v] : body.items())
      b.field(k + ":", v.is_string() ? v.get<std::string>() : v.dump());
    return b.take();
  }

  b.blank();
  if (body.contains("methane") && body["methane"].is_object()) {
    render_methane(b, body["methane"]);
  } else if (type == "transfer.update") {
    b.line("M/ETHANE: unchanged (not in this update)");
  } else {
    render_methane(b, empty);
  }
  if (type == "transfer.request") {
    b.blank();
    b.field("Ask:", ask_label(str(body, "ask")));
    render_contact(b, body);
    b.field("Notes:", str(body, "notes"));
  }
  render_source(b, msg);
  return b.take();
}

}  // namespace bl::adapters
