#include "adapters/cap/cap_partner.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>

#include "adapters/cap/json_text.hpp"

namespace bl::adapters::cap_detail {

using nlohmann::json;

namespace {

using detail::as_json_number;
using detail::parse_double;
using detail::trim;

// Most of each kind an area keeps; the rest is listed as not carried (common.schema.json).
constexpr std::size_t max_polygons = 50;
constexpr std::size_t max_circles = 50;
constexpr std::size_t max_geocodes = 200;
constexpr std::size_t max_points = 5000;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool has_word(const std::string& text, std::string_view word) {
  return text.find(word) != std::string::npos;
}

translate_error bad_value(const xml_element& e, const std::string& value, const std::string& want) {
  return make_translate_error("bl.cap.bad_value", "<" + e.name + "> '" + clip_chars(value, 120) +
                                                      "' at " + e.where() + " is not " + want);
}

// "lat,lon" -> the pair, in range, or nullopt.
std::optional<std::pair<double, double>> lat_lon(std::string_view t) {
  auto comma = t.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto lat = parse_double(trim(t.substr(0, comma)));
  auto lon = parse_double(trim(t.substr(comma + 1)));
  if (!lat || !lon || *lat < -90 || *lat > 90 || *lon < -180 || *lon > 180) return std::nullopt;
  return std::make_pair(*lat, *lon);
}

std::vector<std::string_view> words(std::string_view t) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < t.size()) {
    while (i < t.size() && std::isspace(static_cast<unsigned char>(t[i]))) ++i;
    std::size_t j = i;
    while (j < t.size() && !std::isspace(static_cast<unsigned char>(t[j]))) ++j;
    if (j > i) out.push_back(t.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string clip_chars(const std::string& s, std::size_t max_chars, bool* clipped) {
  std::size_t i = 0, n = 0;
  while (i < s.size() && n < max_chars) {
    ++i;
    while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    ++n;
  }
  if (clipped) *clipped = i < s.size();
  return s.substr(0, i);
}

std::string plain_text(std::string_view in) {
  // Pass 1: markup out, entities decoded, line breaks where block markup was.
  std::string flat;
  flat.reserve(in.size());
  static const std::pair<std::string_view, std::string_view> entities[] = {
      {"&amp;", "&"},
      {"&lt;", "<"},
      {"&gt;", ">"},
      {"&quot;", "\""},
      {"&apos;", "'"},
      {"&#39;", "'"},
      {"&nbsp;", " "},
      {"&#160;", " "},
      {"&ndash;", "\xE2\x80\x93"},
      {"&mdash;", "\xE2\x80\x94"}};
  for (std::size_t i = 0; i < in.size();) {
    char c = in[i];
    if (c == '<' && i + 1 < in.size() &&
        (std::isalpha(static_cast<unsigned char>(in[i + 1])) || in[i + 1] == '/' ||
         in[i + 1] == '!')) {
      auto gt = in.find('>', i + 1);
      if (gt != std::string_view::npos && gt - i <= 300) {
        std::size_t k = i + 1 + (in[i + 1] == '/');
        std::size_t e = k;
        while (e < gt && std::isalnum(static_cast<unsigned char>(in[e]))) ++e;
        std::string name = lower(in.substr(k, e - k));
        if (name == "br" || name == "p" || name == "div" || name == "li" || name == "tr" ||
            (name.size() == 2 && name[0] == 'h' &&
             std::isdigit(static_cast<unsigned char>(name[1]))))
          flat += '\n';
        i = gt + 1;
        continue;
      }
    }
    if (c == '&') {
      bool done = false;
      for (const auto& [ent, rep] : entities)
        if (in.compare(i, ent.size(), ent) == 0) {
          flat += rep;
          i += ent.size();
          done = true;
          break;
        }
      if (done) continue;
    }
    if (c == '\r') {
      if (i + 1 >= in.size() || in[i + 1] != '\n') flat += '\n';
      ++i;
      continue;
    }
    if (static_cast<unsigned char>(c) == 0xC2 && i + 1 < in.size() &&
        static_cast<unsigned char>(in[i + 1]) == 0xA0) {  // no-break space
      flat += ' ';
      i += 2;
      continue;
    }
    flat += (c == '\t' || (static_cast<unsigned char>(c) < 0x20 && c != '\n')) ? ' ' : c;
    ++i;
  }
  // Pass 2: each line's spaces collapsed and trimmed; no more than one blank line in a row.
  std::string out;
  std::size_t blank_run = 0;
  std::size_t start = 0;
  while (start <= flat.size()) {
    auto nl = flat.find('\n', start);
    if (nl == std::string::npos) nl = flat.size();
    std::string line;
    for (std::size_t i = start; i < nl; ++i) {
      if (flat[i] == ' ' && (line.empty() || line.back() == ' ')) continue;
      line += flat[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    if (line.empty()) {
      ++blank_run;
    } else {
      if (!out.empty()) out += blank_run > 0 ? "\n\n" : "\n";
      out += line;
      blank_run = 0;
    }
    start = nl + 1;
  }
  return out;
}

std::string priority_of(std::string_view urgency, std::string_view severity,
                        std::string_view certainty) {
  if (urgency == "Past" || certainty == "Unlikely" || severity == "Minor") return "routine";
  const bool now = urgency == "Immediate";
  const bool soon = now || urgency == "Expected";
  const bool grave = severity == "Extreme" || severity == "Severe";
  const bool sure = certainty == "Observed" || certainty == "Likely";
  if (now && grave && sure) return "emergency";
  if (soon) return "urgent";  // Minor severity and Unlikely certainty went above
  return "routine";           // Future or Unknown urgency
}

std::string incident_code(std::string_view category, std::string_view event) {
  const std::string e = lower(event);
  struct keyword {
    const char* word;
    const char* code;
  };
  // The event says more than the category: a tsunami is "Geo", a child abduction "Rescue".
  static const keyword by_event[] = {
      {"tsunami", "TSUNAMI"},  {"earthquake", "EARTHQUAKE"}, {"flood", "FLOOD"},
      {"abduct", "MISPER"},    {"amber alert", "MISPER"},    {"missing", "MISPER"},
      {"bushfire", "FIRE"},    {"bush fire", "FIRE"},        {"wildfire", "FIRE"},
      {"grass fire", "FIRE"},  {"forest fire", "FIRE"},      {"chemical", "HAZMAT"},
      {"hazmat", "HAZMAT"},    {"radiolog", "HAZMAT"},       {"nuclear", "HAZMAT"},
      {"tornado", "WEATHER"},  {"hurricane", "WEATHER"},     {"cyclone", "WEATHER"},
      {"storm", "WEATHER"},    {"wind", "WEATHER"},          {"snow", "WEATHER"},
      {"rainfall", "WEATHER"}, {"heat", "WEATHER"},          {"fog", "WEATHER"},
  };
  for (const auto& k : by_event)
    if (has_word(e, k.word)) return k.code;
  static const std::pair<std::string_view, const char*> by_category[] = {
      {"Geo", "GEO"},
      {"Met", "WEATHER"},
      {"Safety", "SAFETY"},
      {"Security", "SECURITY"},
      {"Rescue", "RESCUE"},
      {"Fire", "FIRE"},
      {"Health", "HEALTH"},
      {"Env", "ENVIRONMENT"},
      {"Transport", "TRANSPORT"},
      {"Infra", "INFRASTRUCTURE"},
      {"CBRNE", "HAZMAT"},
      {"Other", "OTHER"}};
  for (const auto& [c, code] : by_category)
    if (category == c) return code;
  return "OTHER";
}

std::variant<json, translate_error> read_area(const xml_element& area, const std::string& ns,
                                              std::vector<std::string>& not_carried) {
  const xml_element* desc = area.first(ns, "areaDesc");
  if (!desc)
    return make_translate_error("bl.cap.missing_element",
                                "CAP <area> (at " + area.where() + ") has no <areaDesc>");
  std::string description = plain_text(desc->text);
  bool clipped = false;
  description = clip_chars(description, 500, &clipped);
  if (description.empty()) description = "(no description)";
  const std::string label = "area '" + clip_chars(description, 80) + "'";
  if (clipped)
    not_carried.push_back("the end of the description of " + label + " (over 500 characters)");
  json out = {{"description", description}};

  json polygons = json::array();
  for (const xml_element* p : area.all(ns, "polygon")) {
    auto pairs = words(p->text);
    if (polygons.size() == max_polygons) {
      not_carried.push_back("a further polygon of " + label + " (more than 50)");
      continue;
    }
    if (pairs.size() > max_points)
      return bad_value(*p, std::string(trim(p->text)),
                       "a polygon Bluelink carries (at most 5000 points; it has " +
                           std::to_string(pairs.size()) + ")");
    json ring = json::array();
    for (auto w : pairs) {
      auto ll = lat_lon(w);
      if (!ll)
        return bad_value(*p, std::string(w),
                         "a CAP polygon point (\"lat,lon\" with lat -90..90, lon -180..180)");
      ring.push_back({as_json_number(ll->first), as_json_number(ll->second)});
    }
    // Three corners left open are a triangle the producer forgot to close; fewer are no area.
    if (ring.size() < 3 || (ring.front() == ring.back() && ring.size() < 4))
      return bad_value(*p, std::string(trim(p->text)),
                       "a CAP polygon (at least four \"lat,lon\" points, the first and last the "
                       "same)");
    if (ring.front() != ring.back()) {
      ring.push_back(ring.front());
      not_carried.push_back("nothing of a polygon of " + label +
                            ": it did not end where it began, so Bluelink closed it");
    }
    polygons.push_back(std::move(ring));
  }
  if (!polygons.empty()) out["polygons"] = std::move(polygons);

  json circles = json::array();
  for (const xml_element* c : area.all(ns, "circle")) {
    if (circles.size() == max_circles) {
      not_carried.push_back("a further circle of " + label + " (more than 50)");
      continue;
    }
    std::string t(trim(c->text));
    auto space = t.find_first_of(" \t\r\n");
    std::optional<std::pair<double, double>> centre;
    std::optional<double> radius;
    if (space != std::string::npos) {
      centre = lat_lon(t.substr(0, space));
      radius = parse_double(trim(t.substr(space + 1)));
    }
    if (!centre || !radius || *radius < 0)
      return bad_value(*c, t,
                       "a CAP circle (\"lat,lon radius-km\" with lat -90..90, lon -180..180)");
    circles.push_back({{"lat", as_json_number(centre->first)},
                       {"lon", as_json_number(centre->second)},
                       {"radius_m", as_json_number(*radius * 1000.0)}});
  }
  if (!circles.empty()) out["circles"] = std::move(circles);

  json codes = json::array();
  for (const xml_element* g : area.all(ns, "geocode")) {
    const xml_element* vn = g->first(ns, "valueName");
    const xml_element* v = g->first(ns, "value");
    if (!vn)
      return make_translate_error("bl.cap.missing_element",
                                  "CAP <geocode> (at " + g->where() + ") has no <valueName>");
    if (!v)
      return make_translate_error("bl.cap.missing_element",
                                  "CAP <geocode> (at " + g->where() + ") has no <value>");
    std::string name(trim(vn->text)), value(trim(v->text));
    if (name.empty() || value.empty()) {
      not_carried.push_back("an empty geocode of " + label + " (at " + g->where() + ")");
      continue;
    }
    if (codes.size() == max_geocodes || name.size() > 200 || value.size() > 200) {
      not_carried.push_back("geocode " + clip_chars(name, 100) + " = " + clip_chars(value, 100) +
                            " of " + label);
      continue;
    }
    codes.push_back({{"name", name}, {"value", value}});
  }
  if (!codes.empty()) out["geocodes"] = std::move(codes);

  const xml_element* alt = area.first(ns, "altitude");
  const xml_element* ceil = area.first(ns, "ceiling");
  if (alt || ceil) {
    std::string s;
    if (alt) s += "altitude " + std::string(trim(alt->text)) + " ft";
    if (ceil)
      s += std::string(s.empty() ? "" : " and ") + "ceiling " + std::string(trim(ceil->text)) +
           " ft";
    not_carried.push_back(s + " of " + label);
  }
  return out;
}

std::variant<std::vector<cap_reference>, translate_error> read_references(const xml_element& e) {
  std::vector<cap_reference> out;
  const std::string want =
      "a list of earlier alerts (\"sender,identifier,sent\" entries separated by spaces)";
  for (auto w : words(e.text)) {
    auto c1 = w.find(',');
    auto c2 = c1 == std::string_view::npos ? c1 : w.find(',', c1 + 1);
    if (c2 == std::string_view::npos || c1 == 0 || c2 == c1 + 1 || c2 + 1 == w.size() ||
        w.find(',', c2 + 1) != std::string_view::npos)
      return bad_value(e, std::string(w), want);
    out.push_back({std::string(w.substr(0, c1)), std::string(w.substr(c1 + 1, c2 - c1 - 1)),
                   std::string(w.substr(c2 + 1))});
  }
  if (out.empty()) return bad_value(e, std::string(trim(e.text)), want);
  return out;
}

}  // namespace bl::adapters::cap_detail
