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

// ASCII look-alikes for the code points control-room text actually contains.
const char* ascii_for(std::uint32_t cp) {
  switch (cp) {
    case 0x00A0:
      return " ";
    case 0x00A3:
      return "GBP ";
    case 0x00B0:
      return " deg";
    case 0x00B1:
      return "+/-";
    case 0x00BD:
      return "1/2";
    case 0x00D7:
      return "x";
    case 0x2010:
    case 0x2011:
    case 0x2012:
    case 0x2013:
    case 0x2014:
    case 0x2212:
      return "-";
    case 0x2018:
    case 0x2019:
    case 0x201A:
    case 0x2032:
      return "'";
    case 0x201C:
    case 0x201D:
    case 0x201E:
    case 0x2033:
      return "\"";
    case 0x2022:
      return "*";
    case 0x2026:
      return "...";
    case 0x20AC:
      return "EUR ";
    case 0x2192:
      return "->";
    default:
      break;
  }
  // Latin-1 letters with accents: drop the accent.
  static const char* const latin1 =
      "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";
  if (cp >= 0x00C0 && cp <= 0x00FF) {
    static thread_local char one[2] = {0, 0};
    one[0] = latin1[cp - 0x00C0];
    return one;
  }
  return "?";
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
    out_ += wrap(to_ascii(value.empty() ? "not given" : value), first, label_width);
  }
  // A further value under the previous one.
  void more(const std::string& value) {
    out_ += wrap(to_ascii(value), std::string(label_width, ' '), label_width);
  }
  void line(const std::string& text) { out_ += wrap(to_ascii(text), "", 0); }
  void blank() { out_ += "\n"; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

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

std::string incident_text(const json& ref) {
  if (!ref.is_object()) return {};
  std::string s = str(ref, "number");
  if (auto sys = str(ref, "system"); !sys.empty()) s += " (" + sys + ")";
  return s;
}

}  // namespace

std::string to_ascii(std::string_view in) {
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
    std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    std::uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : c & 0x1Fu;
    bool ok = len > 1 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (!ok) {
      out += '?';
      ++i;
      continue;
    }
    out += ascii_for(cp);
    i += len;
  }
  return out;
}

std::string wrap(std::string_view text, std::string_view first, std::size_t indent,
                 std::size_t width) {
  std::string out;
  std::string line(first);
  std::size_t start_len = line.size();
  const std::string pad(indent, ' ');
  bool any = false;
  auto flush = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
    line = pad;
    start_len = line.size();
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
      std::size_t room =
          width > line.size() + (any ? 1 : 0) ? width - line.size() - (any ? 1 : 0) : 0;
      if (word.size() <= room) {
        if (any) line += ' ';
        line += word;
        any = true;
        word = {};
      } else if (any) {
        flush();
      } else {
        // A word longer than a whole line: split it.
        std::size_t take = width > line.size() ? width - line.size() : 1;
        line += word.substr(0, take);
        word.remove_prefix(take);
        any = true;
        flush();
      }
    }
    if (j >= text.size()) break;
    i = j + 1;
  }
  if (any || line.size() != start_len || out.empty()) flush();
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
  return b.take();
}

}  // namespace bl::adapters
