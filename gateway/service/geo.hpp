#pragma once
// Converts points between WGS84 latitude/longitude (EPSG:4326) and the Ordnance Survey National
// Grid (EPSG:27700, easting/northing in metres) with PROJ, and formats OS grid references
// ("TL 70642 06815"). Thread-safe: each call uses a PROJ context of its own thread.

#include <string>
#include <variant>

#include "gateway/core/error.hpp"

namespace bl {

struct geo_point {
  double lat = 0;
  double lon = 0;
  double easting = 0;
  double northing = 0;
  std::string grid_ref;  // 10-figure OS grid reference, or empty outside the grid
};

class geo {
 public:
  /// Throws std::runtime_error naming what is missing when PROJ cannot build the transformation
  /// (for example when proj-data's proj.db is not installed).
  geo();
  ~geo();
  /// bl.request.bad_parameter (pointer "lat"/"lon") for a point outside the range PROJ can
  /// convert or outside Great Britain's grid.
  std::variant<geo_point, error> from_wgs84(double lat, double lon) const;
  /// bl.request.bad_parameter (pointer "easting"/"northing") for a point off the grid.
  std::variant<geo_point, error> from_osgb(double easting, double northing) const;
};

}  // namespace bl
