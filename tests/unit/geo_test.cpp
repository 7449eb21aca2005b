#include <catch2/catch.hpp>

#include <cmath>
#include <thread>
#include <vector>

#include "gateway/service/geo.hpp"

using namespace bl;

namespace {
geo_point ok(const std::variant<geo_point, error>& r) {
  if (auto* e = std::get_if<error>(&r)) FAIL("rejected: " << e->pointer << " " << e->message);
  return std::get<geo_point>(r);
}

error rejected(const std::variant<geo_point, error>& r) {
  REQUIRE(std::holds_alternative<error>(r));
  return std::get<error>(r);
}

double dms(double d, double m, double s) {
  return d + m / 60 + s / 3600;
}

// Metres between two grid positions.
double apart(double e1, double n1, double e2, double n2) {
  return std::hypot(e1 - e2, n1 - n2);
}
}  // namespace

// Tolerances: PROJ without the OSTN15 grid file (proj-data does not ship it) converts with the
// published 7-parameter Helmert transformation, which OS document as good to a few metres across
// Great Britain; for Caister water tower it is about 3.6 m out. 5 m is what the gateway can
// honestly promise, and it is far finer than a control room needs to find an incident.
constexpr double helmert_tolerance_m = 5.0;

TEST_CASE("OS's published Caister water tower point converts both ways within the Helmert error",
          "[unit][geo]") {
  geo g;
  // "A guide to coordinate systems in Great Britain", worked example: ETRS89 (WGS84 to well
  // under a metre) 52 39 28.8282 N, 1 42 57.8663 E is National Grid E 651409.903, N 313177.270.
  double lat = dms(52, 39, 28.8282), lon = dms(1, 42, 57.8663);
  auto fwd = ok(g.from_wgs84(lat, lon));
  CHECK(apart(fwd.easting, fwd.northing, 651409.903, 313177.270) < helmert_tolerance_m);
  CHECK(fwd.grid_ref.substr(0, 2) == "TG");
  CHECK(fwd.lat == lat);
  CHECK(fwd.lon == lon);

  auto back = ok(g.from_osgb(651409.903, 313177.270));
  // 1e-4 degrees of latitude is about 11 m; compare in metres instead.
  double dn = (back.lat - lat) * 111320.0;
  double de = (back.lon - lon) * 111320.0 * std::cos(lat * M_PI / 180);
  CHECK(std::hypot(dn, de) < helmert_tolerance_m);
  CHECK(back.grid_ref == "TG 51409 13177");
}

TEST_CASE("a round trip through the grid returns to the same point within a metre", "[unit][geo]") {
  geo g;
  // Chelmsford, the Shetland Isles, Land's End and the Isle of Man.
  for (auto [lat, lon] : std::vector<std::pair<double, double>>{
           {51.7356, 0.4685}, {60.1530, -1.1490}, {50.0657, -5.7132}, {54.2361, -4.5481}}) {
    auto fwd = ok(g.from_wgs84(lat, lon));
    auto back = ok(g.from_osgb(fwd.easting, fwd.northing));
    INFO(lat << ", " << lon << " -> " << fwd.grid_ref);
    double dn = (back.lat - lat) * 111320.0;
    double de = (back.lon - lon) * 111320.0 * std::cos(lat * M_PI / 180);
    CHECK(std::hypot(dn, de) < 1.0);
    CHECK(back.grid_ref == fwd.grid_ref);
  }
}

TEST_CASE("Chelmsford lies in square TL, about E 570 550 N 206 980", "[unit][geo]") {
  geo g;
  auto p = ok(g.from_wgs84(51.7356, 0.4685));
  CHECK(p.grid_ref.substr(0, 3) == "TL ");
  CHECK(apart(p.easting, p.northing, 570550, 206982) < helmert_tolerance_m);
}

TEST_CASE("grid references name the 100 km square and truncate to the metre", "[unit][geo]") {
  geo g;
  CHECK(ok(g.from_osgb(570642.9, 206815.9)).grid_ref == "TL 70642 06815");
  CHECK(ok(g.from_osgb(0, 0)).grid_ref == "SV 00000 00000");  // the false origin
  CHECK(ok(g.from_osgb(699999, 1299999)).grid_ref == "JM 99999 99999");
  CHECK(ok(g.from_osgb(337992, 973398)).grid_ref == "ND 37992 73398");  // John o' Groats
  CHECK(ok(g.from_osgb(530000, 180000)).grid_ref == "TQ 30000 80000");  // central London
  CHECK(ok(g.from_osgb(325000, 673000)).grid_ref == "NT 25000 73000");  // Edinburgh
}

TEST_CASE("points off the grid or out of range are refused naming the coordinate", "[unit][geo]") {
  geo g;
  CHECK(rejected(g.from_wgs84(91, 0)).pointer == "lat");
  CHECK(rejected(g.from_wgs84(51, -181)).pointer == "lon");
  CHECK(rejected(g.from_wgs84(NAN, 0)).pointer == "lat");
  auto paris = rejected(g.from_wgs84(48.8566, 2.3522));  // south of the grid's false origin
  CHECK(paris.code == errc::bad_request);
  CHECK(paris.pointer == "lat");
  CHECK(paris.message.find("outside the OS National Grid") != std::string::npos);
  auto oslo = rejected(g.from_wgs84(59.9139, 10.7522));  // east of the grid
  CHECK(oslo.pointer == "lon");
  CHECK(rejected(g.from_osgb(-1, 100)).pointer == "easting");
  CHECK(rejected(g.from_osgb(700000, 100)).pointer == "easting");
  CHECK(rejected(g.from_osgb(100, 1300000)).pointer == "northing");
  CHECK(rejected(g.from_osgb(100, INFINITY)).pointer == "northing");
}

TEST_CASE("conversions from several threads at once agree", "[unit][geo]") {
  geo g;
  auto expected = ok(g.from_wgs84(51.7356, 0.4685));
  std::vector<std::thread> threads;
  std::vector<int> good(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        auto r = g.from_wgs84(51.7356, 0.4685);
        auto* p = std::get_if<geo_point>(&r);
        if (p && p->easting == expected.easting && p->northing == expected.northing) ++good[t];
      }
    });
  for (auto& th : threads) th.join();
  CHECK(good == std::vector<int>(4, 200));
}
