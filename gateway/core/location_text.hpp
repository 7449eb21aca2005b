#pragma once
// Reads a location as a UK control-room operator types it, without PROJ: an Ordnance Survey grid
// reference with its two letters in any of the usual precisions ("TL 740 035", "TL7400003500",
// "TL 74000 03500", "TL7403"), a full numeric easting and northing in metres ("574000, 203500"),
// or WGS84 latitude and longitude in decimal degrees ("51.70, 0.55", "51.7N 0.55E") or degrees and
// minutes (and seconds) with hemisphere letters ("51°42.5'N 0°33'E", "51 42 30 N, 0 33 00 E",
// "51:42:30N 0:33:00E") or with signs and a comma between them ("51 42.5, -0 33.0").
// Anything else, and anything ambiguous (a bare easting of fewer than six figures, which would land
// in the wrong 100 km square), is refused with a message that says what to type instead. Input is
// bounded (max_chars) before any work is done on it. Pure and thread-safe.

#include <string>
#include <string_view>
#include <variant>

#include "gateway/core/error.hpp"

namespace bl {

struct typed_location {
  enum class form { grid_ref, easting_northing, wgs84 };
  form kind = form::grid_ref;
  // grid_ref and easting_northing: metres on the National Grid. A grid reference names the
  // south-west corner of its square, of side precision_m.
  double easting = 0;
  double northing = 0;
  double precision_m = 1;  // 1 (10-figure), 10, 100, 1000, 10000 (2-figure); 1 for numeric
  // wgs84: degrees, north and east positive.
  double lat = 0;
  double lon = 0;
};

inline constexpr std::size_t location_text_max_chars = 64;

/// The location in `text`, or an errc::bad_request error (pointer `pointer`) saying why not and
/// what to type instead.
std::variant<typed_location, error> parse_location_text(std::string_view text,
                                                        const std::string& pointer = "q");

/// "grid_ref", "easting_northing" or "wgs84".
const char* to_string(typed_location::form f);

}  // namespace bl
