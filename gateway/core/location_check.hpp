#pragma once
// Whether a location is where a request between two agencies plausibly is (issue 14): anything
// outside Great Britain, or far from both agencies' areas (agencies[].area in the config), is
// questioned before sending. A verdict, never a refusal: an operator may be right (a motorway
// incident just over the border, a vessel off the coast) and confirms it.
//
// Great Britain here is coarse on purpose: a box around it with Ireland's box taken out, so that
// a point in Dublin, Belfast or the Atlantic is questioned; the agencies' areas do the fine work.
// Pure and thread-safe.

#include <string>
#include <vector>

#include "gateway/core/config.hpp"

namespace bl {

struct location_verdict {
  bool plausible = true;
  std::string reason;  // when not plausible: what is wrong, in words for the operator
};

/// Great-circle distance in km (haversine on a sphere of radius 6371 km: within 0.5 %).
double distance_km(double lat1, double lon1, double lat2, double lon2);

/// Coarsely, whether (lat, lon) is in Great Britain (see above).
bool in_great_britain(double lat, double lon);

/// The verdict for a point and the agencies a request runs between (null: not given). Agencies
/// without an area do not take part in the distance check; with no area at all, only the point
/// being outside Great Britain is questioned.
location_verdict check_location(double lat, double lon,
                                const std::vector<const agency_config*>& agencies);

}  // namespace bl
