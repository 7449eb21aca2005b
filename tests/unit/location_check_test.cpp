// Whether a location is plausible for a request between two agencies
// (gateway/core/location_check.hpp).
#include <catch2/catch.hpp>

#include "gateway/core/location_check.hpp"

using namespace bl;

namespace {
agency_config agency(const char* name, std::optional<area_config> area) {
  agency_config a;
  a.id = name;
  a.name = name;
  a.area = area;
  return a;
}
// Essex as the demo configures it: Chelmsford, 50 km.
const area_config essex{51.7356, 0.4685, 50};
}  // namespace

TEST_CASE("distances on the ground are right to within a kilometre", "[unit][location_check]") {
  // Chelmsford to Colchester is about 34 km, London (Charing Cross) to Edinburgh about 534 km.
  CHECK(distance_km(51.7356, 0.4685, 51.8892, 0.9042) == Approx(34.6).margin(1));
  CHECK(distance_km(51.5074, -0.1278, 55.9533, -3.1883) == Approx(534).margin(3));
  CHECK(distance_km(51.7, 0.5, 51.7, 0.5) == 0);
}

TEST_CASE("Great Britain from Scilly to Shetland, without Ireland or the sea beyond",
          "[unit][location_check]") {
  for (auto [lat, lon] : {std::pair{51.7356, 0.4685},
                          {49.92, -6.30},
                          {60.15, -1.15},
                          {57.81, -8.57},
                          {51.88, -5.30},
                          {55.30, -5.79},
                          {58.64, -3.07}})
    CHECK(in_great_britain(lat, lon));
  for (auto [lat, lon] : {std::pair{53.35, -6.26} /* Dublin */,
                          {54.60, -5.93} /* Belfast */,
                          {48.86, 2.35} /* Paris */,
                          {0.4685, 51.7356} /* swapped */,
                          {51.7356, -0.4685 - 10},
                          {-51.7356, 0.4685}})
    CHECK_FALSE(in_great_britain(lat, lon));
}

TEST_CASE("a location far from both agencies' areas is questioned, naming the distances",
          "[unit][location_check]") {
  auto fire = agency("Essex County Fire and Rescue", essex);
  auto police = agency("Essex Police", essex);
  SECTION("in Essex: plausible") {
    auto v = check_location(51.7, 0.55, {&fire, &police});
    CHECK(v.plausible);
    CHECK(v.reason.empty());
  }
  SECTION("in Manchester: questioned") {
    auto v = check_location(53.48, -2.24, {&fire, &police});
    CHECK_FALSE(v.plausible);
    CHECK_THAT(v.reason, Catch::Contains("from the centre of Essex County Fire and Rescue's area"));
    CHECK_THAT(v.reason, Catch::Contains("and 2"));  // ~255 km from Essex Police's too
    CHECK_THAT(v.reason, Catch::Contains("check the location before sending"));
  }
  SECTION("within one of the two areas is enough") {
    auto met = agency("Metropolitan Police", area_config{51.5074, -0.1278, 30});
    CHECK(check_location(51.52, -0.10, {&fire, &met}).plausible);
  }
  SECTION("latitude and longitude the wrong way round: outside Great Britain") {
    auto v = check_location(0.55, 51.7, {&fire, &police});
    CHECK_FALSE(v.plausible);
    CHECK_THAT(v.reason, Catch::Contains("outside Great Britain"));
  }
  SECTION("agencies without areas: only Great Britain is checked") {
    auto a = agency("A", std::nullopt), b = agency("B", std::nullopt);
    CHECK(check_location(53.48, -2.24, {&a, &b}).plausible);
    CHECK(check_location(57.0, -3.0, {}).plausible);
    CHECK_FALSE(check_location(53.35, -6.26, {&a, &b}).plausible);
  }
}
