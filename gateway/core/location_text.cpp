#include "gateway/core/location_text.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <vector>

namespace bl {
namespace {

constexpr double grid_max_easting = 700000;
constexpr double grid_max_northing = 1300000;

struct refusal {
  std::string pointer;
  error operator()(const std::string& why) const {
    return make_error(errc::bad_request, why, pointer);
  }
};

// Degree, minute and second marks become spaces; any other byte outside printable ASCII is
// refused (nullopt). Letters are upper-cased.
std::optional<std::string> normalise(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == 0xC2 && i + 1 < in.size() &&
        (static_cast<unsigned char>(in[i + 1]) == 0xB0 ||   // ° degree sign
         static_cast<unsigned char>(in[i + 1]) == 0xBA)) {  // º masculine ordinal, typed for °
      out += ' ';
      ++i;
    } else if (c == 0xE2 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(in[i + 2]) == 0xB2 ||   // ′ prime
                static_cast<unsigned char>(in[i + 2]) == 0xB3)) {  // ″ double prime
      out += ' ';
      i += 2;
    } else if (c == '\'' || c == '"' || c == '\t' || c == ':') {  // "51:42:30" as GPS units show it
      out += ' ';
    } else if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(std::toupper(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool is_plain_number(const std::string& s) {
  // [+-]? digits ( . digits )?  -- no exponents, hex, "inf" or "nan".
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (digits == 0) return false;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t frac = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++frac;
    if (frac == 0) return false;
  }
  return i == s.size();
}

std::size_t integer_digits(const std::string& s) {
  std::size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0, n = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++n;
  return n;
}

// "TL 740 035", "TL7400003500", "tl 74000 03500": two letters, then figures.
std::optional<std::variant<typed_location, error>> try_grid_ref(const std::string& t,
                                                                const refusal& refuse) {
  std::size_t i = 0;
  while (i < t.size() && t[i] == ' ') ++i;
  if (i + 1 >= t.size() || !std::isalpha(static_cast<unsigned char>(t[i])) ||
      !std::isalpha(static_cast<unsigned char>(t[i + 1])))
    return std::nullopt;
  char a = t[i], b = t[i + 1];
  std::vector<std::string> groups;
  for (std::size_t j = i + 2; j < t.size();) {
    if (t[j] == ' ') {
      ++j;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(t[j]))) return std::nullopt;  // not this form
    std::string g;
    while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j]))) g += t[j++];
    groups.push_back(g);
  }
  if (a == 'I' || b == 'I' ||
      !(a == 'H' || a == 'J' || a == 'N' || a == 'O' || a == 'S' || a == 'T'))
    return refuse(std::string("'") + a + b +
                  "' is not a square of the Ordnance Survey National Grid (squares run from SV "
                  "in the south-west to HP in the north)");
  std::string e_digits, n_digits;
  if (groups.size() == 1) {
    if (groups[0].size() % 2 != 0)
      return refuse(
          "a grid reference needs as many figures for the easting as for the "
          "northing; '" +
          groups[0] + "' has " + std::to_string(groups[0].size()));
    e_digits = groups[0].substr(0, groups[0].size() / 2);
    n_digits = groups[0].substr(groups[0].size() / 2);
  } else if (groups.size() == 2) {
    if (groups[0].size() != groups[1].size())
      return refuse(
          "a grid reference needs as many figures for the easting as for the "
          "northing; '" +
          groups[0] + " " + groups[1] + "' has " + std::to_string(groups[0].size()) + " and " +
          std::to_string(groups[1].size()));
    e_digits = groups[0];
    n_digits = groups[1];
  } else if (groups.empty()) {
    return refuse(std::string("'") + a + b +
                  "' is a 100 km square; give figures too, for example " + a + b + " 740 035");
  } else {
    return refuse(
        "a grid reference is two letters and then the easting and northing figures, "
        "for example TL 740 035 or TL 74000 03500");
  }
  if (e_digits.empty() || e_digits.size() > 5)
    return refuse("a grid reference has 2 to 10 figures after its letters (" +
                  std::to_string(e_digits.size() * 2) + " given)");
  int l1 = a - 'A', l2 = b - 'A';
  if (l1 > 7) --l1;  // the alphabet has no 'I'
  if (l2 > 7) --l2;
  int e100k = ((l1 - 2 + 25) % 5) * 5 + (l2 % 5);
  int n100k = (19 - (l1 / 5) * 5) - (l2 / 5);
  if (e100k < 0 || e100k >= 7 || n100k < 0 || n100k >= 13)
    return refuse(std::string("'") + a + b +
                  "' is not a square of the Ordnance Survey National Grid (squares run from SV "
                  "in the south-west to HP in the north)");
  double scale = std::pow(10.0, 5 - static_cast<int>(e_digits.size()));
  typed_location loc;
  loc.kind = typed_location::form::grid_ref;
  loc.precision_m = scale;
  loc.easting = e100k * 100000.0 + std::stod(e_digits) * scale;
  loc.northing = n100k * 100000.0 + std::stod(n_digits) * scale;
  return loc;
}

// One coordinate of a latitude/longitude: degrees [minutes [seconds]] and a hemisphere letter.
struct coordinate {
  std::vector<std::string> numbers;
  char hemisphere = 0;
};

std::variant<double, error> coordinate_value(const coordinate& c, const refusal& refuse) {
  if (c.numbers.empty() || c.numbers.size() > 3)
    return refuse(
        "a latitude or longitude is degrees, optionally minutes and seconds, for "
        "example 51.7 or 51 42.5 N");
  for (std::size_t i = 0; i < c.numbers.size(); ++i) {
    if (!is_plain_number(c.numbers[i])) return refuse("'" + c.numbers[i] + "' is not a number");
    if (i > 0 && (c.numbers[i][0] == '-' || c.numbers[i][0] == '+'))
      return refuse("minutes and seconds have no sign: '" + c.numbers[i] + "'");
  }
  for (std::size_t i = 0; i + 1 < c.numbers.size(); ++i)
    if (c.numbers[i].find('.') != std::string::npos)
      return refuse("only the last of degrees, minutes and seconds may have decimals ('" +
                    c.numbers[i] + "')");
  double deg = std::strtod(c.numbers[0].c_str(), nullptr);
  bool negative = c.numbers[0][0] == '-';
  double v = std::fabs(deg);
  if (c.numbers.size() >= 2) {
    double m = std::strtod(c.numbers[1].c_str(), nullptr);
    if (m >= 60) return refuse("minutes must be under 60 ('" + c.numbers[1] + "')");
    v += m / 60;
  }
  if (c.numbers.size() == 3) {
    double s = std::strtod(c.numbers[2].c_str(), nullptr);
    if (s >= 60) return refuse("seconds must be under 60 ('" + c.numbers[2] + "')");
    v += s / 3600;
  }
  if (c.hemisphere && negative)
    return refuse("give either a minus sign or a hemisphere letter, not both");
  if (negative || c.hemisphere == 'S' || c.hemisphere == 'W') v = -v;
  return v;
}

std::variant<typed_location, error> from_lat_lon(double lat, double lon, const refusal& refuse) {
  if (!(lat >= -90 && lat <= 90)) return refuse("latitude must be between -90 and 90 degrees");
  if (!(lon >= -180 && lon <= 180)) return refuse("longitude must be between -180 and 180 degrees");
  typed_location loc;
  loc.kind = typed_location::form::wgs84;
  loc.lat = lat;
  loc.lon = lon;
  return loc;
}

}  // namespace

const char* to_string(typed_location::form f) {
  switch (f) {
    case typed_location::form::grid_ref:
      return "grid_ref";
    case typed_location::form::easting_northing:
      return "easting_northing";
    case typed_location::form::wgs84:
      return "wgs84";
  }
  return "grid_ref";
}

std::variant<typed_location, error> parse_location_text(std::string_view text,
                                                        const std::string& pointer) {
  refusal refuse{pointer};
  if (text.size() > location_text_max_chars)
    return refuse("a location is at most " + std::to_string(location_text_max_chars) +
                  " characters");
  auto norm = normalise(text);
  if (!norm)
    return refuse(
        "a location is a grid reference (TL 740 035), an easting and northing "
        "(574000, 203500) or a latitude and longitude (51.70, 0.55)");
  const std::string& t = *norm;
  if (t.find_first_not_of(' ') == std::string::npos) return refuse("the location is empty");

  if (auto g = try_grid_ref(t, refuse)) return *g;

  // Tokens: numbers and hemisphere letters (split apart when typed together: "51.7N"), commas.
  std::vector<std::string> tokens;
  for (std::size_t i = 0; i < t.size();) {
    char c = t[i];
    if (c == ' ') {
      ++i;
    } else if (c == ',' || c == ';') {
      tokens.emplace_back(",");
      ++i;
    } else if (c == 'N' || c == 'S' || c == 'E' || c == 'W') {
      tokens.emplace_back(1, c);
      ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+') {
      std::string num;
      while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.' ||
                              ((t[i] == '-' || t[i] == '+') && num.empty())))
        num += t[i++];
      tokens.push_back(num);
    } else {
      return refuse(std::string("'") + c +
                    "' has no place in a location: give a grid reference (TL 740 035), an "
                    "easting and northing (574000, 203500) or a latitude and longitude "
                    "(51.70, 0.55 or 51 42.0 N 0 33.0 E)");
    }
  }

  bool letters = false;
  for (const auto& tok : tokens)
    if (tok.size() == 1 && std::isalpha(static_cast<unsigned char>(tok[0]))) letters = true;

  if (!letters) {
    // Two bare numbers: an easting and northing in metres, or decimal degrees.
    std::vector<std::string> nums;
    for (const auto& tok : tokens)
      if (tok != ",") nums.push_back(tok);
    std::size_t commas = tokens.size() - nums.size();
    if (commas == 1 && nums.size() > 2 && nums.size() <= 6 && tokens.front() != "," &&
        tokens.back() != ",") {
      // Degrees and minutes (and seconds) with signs instead of letters, the comma between
      // them: "51 42.5, -0 33.0" is latitude then longitude, as decimal degrees are.
      coordinate lat_c, lon_c;
      bool second = false;
      for (const auto& tok : tokens) {
        if (tok == ",")
          second = true;
        else
          (second ? lon_c : lat_c).numbers.push_back(tok);
      }
      for (const auto* c : {&lat_c, &lon_c})
        if (!c->numbers.empty() && integer_digits(c->numbers[0]) > 3)
          return refuse(
              "give two numbers: an easting and northing (574000, 203500), or a latitude and "
              "longitude in degrees (51.70, 0.55) or degrees and minutes (51 42.0, 0 33.0)");
      auto lat = coordinate_value(lat_c, refuse);
      if (auto* e = std::get_if<error>(&lat)) return *e;
      auto lon = coordinate_value(lon_c, refuse);
      if (auto* e = std::get_if<error>(&lon)) return *e;
      return from_lat_lon(std::get<double>(lat), std::get<double>(lon), refuse);
    }
    if (nums.size() != 2 || commas > 1)
      return refuse(
          "give two numbers: an easting and northing (574000, 203500) or a latitude "
          "and longitude (51.70, 0.55); degrees and minutes need N/S and E/W or a comma "
          "between latitude and longitude (51 42.0 N 0 33.0 E, or 51 42.0, -0 33.0)");
    for (const auto& n : nums)
      if (!is_plain_number(n)) return refuse("'" + n + "' is not a number");
    double x = std::strtod(nums[0].c_str(), nullptr), y = std::strtod(nums[1].c_str(), nullptr);
    if (integer_digits(nums[0]) <= 3 && integer_digits(nums[1]) <= 3)
      return from_lat_lon(x, y, refuse);
    // Metres. A bare easting of fewer than six figures is a grid reference without its letters:
    // placed as metres it would land in the wrong 100 km square, so it is refused, not guessed.
    if (x < 0 || y < 0) return refuse("eastings and northings are never negative");
    if (integer_digits(nums[0]) != 6)
      return refuse("an easting in metres has six figures (574000); '" + nums[0] +
                    "' looks like the figures of a grid reference: type its two letters too, "
                    "for example TL " +
                    nums[0] + " " + nums[1]);
    if (integer_digits(nums[1]) < 6 || integer_digits(nums[1]) > 7)
      return refuse("a northing in metres has six or seven figures (203500 or 1003500); '" +
                    nums[1] + "' has " + std::to_string(integer_digits(nums[1])));
    if (x >= grid_max_easting || y >= grid_max_northing)
      return refuse(
          "that easting and northing are off the National Grid (eastings under "
          "700000, northings under 1300000)");
    typed_location loc;
    loc.kind = typed_location::form::easting_northing;
    loc.easting = x;
    loc.northing = y;
    return loc;
  }

  // Latitude and longitude with hemisphere letters, in degrees, minutes and seconds as typed.
  std::vector<coordinate> coords;
  coordinate cur;
  auto close = [&] {
    if (!cur.numbers.empty() || cur.hemisphere) coords.push_back(cur);
    cur = coordinate{};
  };
  for (const auto& tok : tokens) {
    if (tok == ",") {
      close();
    } else if (tok.size() == 1 && std::isalpha(static_cast<unsigned char>(tok[0]))) {
      if (cur.numbers.empty() && !cur.hemisphere) {
        cur.hemisphere = tok[0];  // "N 51 42.5"
      } else if (!cur.hemisphere) {
        cur.hemisphere = tok[0];  // "51 42.5 N"
        close();
      } else {
        close();  // "N 51 42.5 E 0 33" : a new coordinate begins
        cur.hemisphere = tok[0];
      }
    } else {
      cur.numbers.push_back(tok);
    }
  }
  close();
  if (coords.size() != 2)
    return refuse("give a latitude and a longitude, for example 51 42.5 N, 0 33.0 E");
  const coordinate* lat_c = nullptr;
  const coordinate* lon_c = nullptr;
  for (const auto& c : coords) {
    if (c.hemisphere == 'N' || c.hemisphere == 'S') {
      if (lat_c) return refuse("two latitudes given (N/S twice)");
      lat_c = &c;
    } else if (c.hemisphere == 'E' || c.hemisphere == 'W') {
      if (lon_c) return refuse("two longitudes given (E/W twice)");
      lon_c = &c;
    }
  }
  if (!lat_c) lat_c = (lon_c == &coords[0]) ? &coords[1] : &coords[0];
  if (!lon_c) lon_c = (lat_c == &coords[0]) ? &coords[1] : &coords[0];
  if (lat_c == lon_c) return refuse("give a latitude (N/S) and a longitude (E/W)");
  auto lat = coordinate_value(*lat_c, refuse);
  if (auto* e = std::get_if<error>(&lat)) return *e;
  auto lon = coordinate_value(*lon_c, refuse);
  if (auto* e = std::get_if<error>(&lon)) return *e;
  return from_lat_lon(std::get<double>(lat), std::get<double>(lon), refuse);
}

}  // namespace bl
