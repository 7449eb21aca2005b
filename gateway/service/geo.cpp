#include "gateway/service/geo.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <proj.h>

namespace bl {

namespace {

// The OS National Grid's extent: grid references exist only inside this rectangle.
constexpr double max_easting = 700000;
constexpr double max_northing = 1300000;

// One PROJ context and transformation for the calling thread. PROJ objects must not be shared
// between threads, and building a transformation reads proj.db, so each thread builds its own
// once and keeps it until it exits.
class transformer {
 public:
  transformer() : ctx_(proj_context_create()) {
    if (!ctx_) throw std::runtime_error("PROJ could not create a context");
    // Never fetch grids over the network: the gateway must behave the same offline.
    proj_context_set_enable_network(ctx_, 0);
    PJ* raw = proj_create_crs_to_crs(ctx_, "EPSG:4326", "EPSG:27700", nullptr);
    if (!raw) {
      std::string why = proj_context_errno_string(ctx_, proj_context_errno(ctx_));
      proj_context_destroy(ctx_);
      throw std::runtime_error("PROJ cannot build the EPSG:4326 -> EPSG:27700 transformation (" +
                               why +
                               "); is proj-data (proj.db) installed and PROJ_DATA set correctly?");
    }
    // EPSG:4326 is officially latitude-first; normalising makes the axis order explicitly
    // (longitude, latitude) -> (easting, northing), whatever the EPSG definitions say.
    pj_ = proj_normalize_for_visualization(ctx_, raw);
    proj_destroy(raw);
    if (!pj_) {
      proj_context_destroy(ctx_);
      throw std::runtime_error("PROJ could not normalise the EPSG:4326 -> EPSG:27700 axis order");
    }
  }
  ~transformer() {
    proj_destroy(pj_);
    proj_context_destroy(ctx_);
  }
  transformer(const transformer&) = delete;
  transformer& operator=(const transformer&) = delete;

  // Returns false when PROJ cannot transform the point (it reports HUGE_VAL coordinates).
  bool run(PJ_DIRECTION dir, double x, double y, double& out_x, double& out_y) {
    PJ_COORD c = proj_coord(x, y, 0, 0);
    PJ_COORD r = proj_trans(pj_, dir, c);
    out_x = r.xy.x;
    out_y = r.xy.y;
    return std::isfinite(out_x) && std::isfinite(out_y);
  }

 private:
  PJ_CONTEXT* ctx_ = nullptr;
  PJ* pj_ = nullptr;
};

transformer& this_thread_transformer() {
  thread_local transformer t;
  return t;
}

// The two-letter 100 km square: the first letter picks the 500 km square and the second the
// 100 km square inside it, both from a 5x5 alphabet without 'I', lettered from the north-west.
std::string grid_ref(double easting, double northing) {
  if (!(easting >= 0 && easting < max_easting && northing >= 0 && northing < max_northing))
    return {};
  auto e = static_cast<long>(std::floor(easting));
  auto n = static_cast<long>(std::floor(northing));
  long e100k = e / 100000, n100k = n / 100000;
  long l1 = (19 - n100k) - (19 - n100k) % 5 + (e100k + 10) / 5;
  long l2 = (19 - n100k) * 5 % 25 + e100k % 5;
  if (l1 > 7) ++l1;  // skip 'I'
  if (l2 > 7) ++l2;
  // Grid references truncate rather than round: the square named contains the point.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%c %05ld %05ld", static_cast<char>('A' + l1),
                static_cast<char>('A' + l2), e % 100000, n % 100000);
  return buf;
}

std::string fmt(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

geo::geo() {
  // Build this thread's transformation now, so that a missing proj.db is reported at start-up.
  this_thread_transformer();
}

geo::~geo() = default;

std::variant<geo_point, error> geo::from_wgs84(double lat, double lon) const {
  if (!std::isfinite(lat) || lat < -90 || lat > 90)
    return make_error(errc::bad_request, "latitude must be between -90 and 90 degrees", "lat");
  if (!std::isfinite(lon) || lon < -180 || lon > 180)
    return make_error(errc::bad_request, "longitude must be between -180 and 180 degrees", "lon");
  geo_point p;
  p.lat = lat;
  p.lon = lon;
  if (!this_thread_transformer().run(PJ_FWD, lon, lat, p.easting, p.northing))
    return make_error(errc::bad_request,
                      "the point " + fmt(lat, 6) + ", " + fmt(lon, 6) +
                          " cannot be converted to the OS National Grid",
                      "lat");
  // Name the coordinate that is off the grid, so the caller knows which one to fix.
  if (p.northing < 0 || p.northing >= max_northing)
    return make_error(errc::bad_request,
                      "latitude " + fmt(lat, 6) + " lies outside the OS National Grid (northing " +
                          fmt(p.northing, 0) + " m is not within 0-1300000)",
                      "lat");
  if (p.easting < 0 || p.easting >= max_easting)
    return make_error(errc::bad_request,
                      "longitude " + fmt(lon, 6) + " lies outside the OS National Grid (easting " +
                          fmt(p.easting, 0) + " m is not within 0-700000)",
                      "lon");
  p.grid_ref = grid_ref(p.easting, p.northing);
  return p;
}

std::variant<geo_point, error> geo::from_osgb(double easting, double northing) const {
  if (!std::isfinite(easting) || easting < 0 || easting >= max_easting)
    return make_error(errc::bad_request, "easting must be at least 0 and less than 700000 metres",
                      "easting");
  if (!std::isfinite(northing) || northing < 0 || northing >= max_northing)
    return make_error(errc::bad_request, "northing must be at least 0 and less than 1300000 metres",
                      "northing");
  geo_point p;
  p.easting = easting;
  p.northing = northing;
  if (!this_thread_transformer().run(PJ_INV, easting, northing, p.lon, p.lat))
    return make_error(errc::bad_request,
                      "the grid point " + fmt(easting, 0) + ", " + fmt(northing, 0) +
                          " cannot be converted to latitude and longitude",
                      "easting");
  p.grid_ref = grid_ref(easting, northing);
  return p;
}

}  // namespace bl
