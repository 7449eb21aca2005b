#include "gateway/core/location_check.hpp"

#include <cmath>
#include <cstdio>

namespace bl {

namespace {
constexpr double earth_radius_km = 6371.0;
constexpr double pi = 3.14159265358979323846;

std::string km_text(double km) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f km", km);
  return buf;
}

std::string point_text(double lat, double lon) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f, %.5f", lat, lon);
  return buf;
}
}  // namespace

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  auto rad = [](double d) { return d * pi / 180.0; };
  double dlat = rad(lat2 - lat1), dlon = rad(lon2 - lon1);
  double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
             std::cos(rad(lat1)) * std::cos(rad(lat2)) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * earth_radius_km * std::asin(std::sqrt(std::fmin(1.0, a)));
}

bool in_great_britain(double lat, double lon) {
  // Scilly to Shetland, St Kilda to Lowestoft.
  if (!(lat >= 49.8 && lat <= 60.9 && lon >= -8.7 && lon <= 1.8)) return false;
  // Ireland, north and south: west of the North Channel and the Irish Sea's middle, south of
  // Kintyre. St David's Head (-5.3), Cornwall and Scilly (south of 51.3) stay in.
  if (lat >= 51.3 && lat <= 55.25 && lon < -5.45) return false;
  return true;
}

location_verdict check_location(double lat, double lon,
                                const std::vector<const agency_config*>& agencies) {
  location_verdict v;
  if (!in_great_britain(lat, lon)) {
    v.plausible = false;
    v.reason = point_text(lat, lon) +
               " is outside Great Britain: check the location (a latitude and longitude the "
               "wrong way round, or a minus sign missing?) before sending";
    return v;
  }
  std::string far;
  for (const auto* a : agencies) {
    if (!a || !a->area) continue;
    double d = distance_km(lat, lon, a->area->lat, a->area->lon);
    if (d <= a->area->radius_km) return v;  // within one agency's area: plausible
    far += (far.empty() ? "" : " and ") + km_text(d) + " from the centre of " + a->name +
           "'s area (its radius " + km_text(a->area->radius_km) + ")";
  }
  if (far.empty()) return v;  // no area to compare with
  v.plausible = false;
  v.reason = point_text(lat, lon) + " is " + far + ": check the location before sending";
  return v;
}

}  // namespace bl
