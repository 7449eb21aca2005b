// Locations as operators type them (gateway/core/location_text.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "gateway/core/location_text.hpp"
#include "tests/support/test_helpers.hpp"

using namespace bl;

namespace {

typed_location ok(const std::string& text) {
  auto r = parse_location_text(text);
  if (auto* e = std::get_if<error>(&r)) FAIL("'" << text << "' refused: " << e->message);
  return std::get<typed_location>(r);
}

std::string refused(const std::string& text) {
  auto r = parse_location_text(text);
  if (std::holds_alternative<typed_location>(r)) FAIL("'" << text << "' was accepted");
  const auto& e = std::get<error>(r);
  CHECK(e.code == errc::bad_request);
  CHECK(e.pointer == "q");
  return e.message;
}

}  // namespace

TEST_CASE("OS grid references in every precision and spacing operators use", "[unit][location]") {
  struct row {
    const char* text;
    double easting, northing, precision;
  };
  // TL 740 035 is Chelmsford's square; the corner named by each form, to its precision.
  for (const row& r :
       {row{"TL 740 035", 574000, 203500, 100}, row{"TL740035", 574000, 203500, 100},
        row{"tl 740 035", 574000, 203500, 100}, row{"TL7400003500", 574000, 203500, 1},
        row{"TL 74000 03500", 574000, 203500, 1}, row{"TL 7400 0350", 574000, 203500, 10},
        row{"TL74000350", 574000, 203500, 10}, row{"TL 74 03", 574000, 203000, 1000},
        row{"TL 7 0", 570000, 200000, 10000}, row{"  TL 70642 06815 ", 570642, 206815, 1},
        row{"SV 00000 00000", 0, 0, 1}, row{"HP 61000 16000", 461000, 1216000, 1},
        row{"NT 25 73", 325000, 673000, 1000},      // Edinburgh
        row{"SJ 838 980", 383800, 398000, 100}}) {  // Manchester
    INFO(r.text);
    auto l = ok(r.text);
    CHECK(l.kind == typed_location::form::grid_ref);
    CHECK(l.easting == Approx(r.easting));
    CHECK(l.northing == Approx(r.northing));
    CHECK(l.precision_m == r.precision);
  }
}

TEST_CASE("grid references that cannot be meant are refused with what to type instead",
          "[unit][location]") {
  CHECK_THAT(refused("TL 7400 035"), Catch::Contains("as many figures for the easting"));
  CHECK_THAT(refused("TL74003"), Catch::Contains("as many figures"));
  CHECK_THAT(refused("TI 740 035"), Catch::Contains("not a square"));
  CHECK_THAT(refused("ZZ 740 035"), Catch::Contains("not a square"));
  CHECK_THAT(refused("JA 740 035"), Catch::Contains("not a square"));  // north of the grid
  CHECK_THAT(refused("TL"), Catch::Contains("100 km square"));
  CHECK_THAT(refused("TL 740000 035000"), Catch::Contains("2 to 10 figures"));
  CHECK_THAT(refused("TL 74 03 5"), Catch::Contains("two letters and then"));
}

TEST_CASE("a full easting and northing in metres; a short easting is a grid reference, not a guess",
          "[unit][location]") {
  auto l = ok("574000, 203500");
  CHECK(l.kind == typed_location::form::easting_northing);
  CHECK(l.easting == 574000);
  CHECK(l.northing == 203500);
  CHECK(ok("574000 203500").northing == 203500);
  CHECK(ok("090000,010000").easting == 90000);  // the Scillies, with the leading zero
  CHECK(ok("461000 1216000").northing == 1216000);
  // Five figures would land in the wrong 100 km square (the sea off Pembrokeshire): refused.
  auto why = refused("74000 03500");
  CHECK_THAT(why, Catch::Contains("six figures"));
  CHECK_THAT(why, Catch::Contains("two letters"));
  CHECK_THAT(refused("574000 3500"), Catch::Contains("six or seven figures"));
  CHECK_THAT(refused("750000 203500"), Catch::Contains("off the National Grid"));
  CHECK_THAT(refused("574000 -203500"), Catch::Contains("never negative"));
}

TEST_CASE("WGS84 in decimal degrees, and in degrees, minutes and seconds with N/S and E/W",
          "[unit][location]") {
  struct row {
    const char* text;
    double lat, lon;
  };
  for (const row& r :
       {row{"51.7, 0.55", 51.7, 0.55}, row{"51.7 0.55", 51.7, 0.55},
        row{"51.73612,-0.47861", 51.73612, -0.47861}, row{"51.7N 0.55E", 51.7, 0.55},
        row{"51.7N, 0.55W", 51.7, -0.55}, row{"0.55W 51.7N", 51.7, -0.55},
        row{"51 42.5 N 0 33.0 E", 51 + 42.5 / 60, 0.55},
        row{"51°42.5'N 0°33'E", 51 + 42.5 / 60, 0.55},
        row{"51º42'30\"N, 0º33'00\"W", 51 + 42.5 / 60, -0.55},
        row{"51°42′30″N 0°33′0″E", 51 + 42.5 / 60, 0.55},
        row{"N 51 42.5 E 0 33", 51 + 42.5 / 60, 0.55}, row{"N51.7 W3.2", 51.7, -3.2},
        row{"57 08 52 N 2 05 53 W", 57 + 8 / 60.0 + 52 / 3600.0, -(2 + 5 / 60.0 + 53 / 3600.0)},
        // Degrees-minutes and degrees-minutes-seconds with signs, latitude first, a comma between.
        row{"51 42.5, 0 33", 51 + 42.5 / 60, 0.55},
        row{"51°42.5', -0°33.0'", 51 + 42.5 / 60, -0.55},
        row{"51 42 30, -0 33 00", 51 + 42.5 / 60, -0.55},
        row{"51°42′30″, 0°33′0″", 51 + 42.5 / 60, 0.55},
        row{"-33 51 35.9, 151 12 40", -(33 + 51 / 60.0 + 35.9 / 3600),
            151 + 12 / 60.0 + 40 / 3600.0},
        // GPS units' colons.
        row{"51:42:30N 0:33:00E", 51 + 42.5 / 60, 0.55},
        row{"51:42.5, -0:33", 51 + 42.5 / 60, -0.55}}) {
    INFO(r.text);
    auto l = ok(r.text);
    CHECK(l.kind == typed_location::form::wgs84);
    CHECK(l.lat == Approx(r.lat).margin(1e-9));
    CHECK(l.lon == Approx(r.lon).margin(1e-9));
  }
}

TEST_CASE("latitudes and longitudes that cannot be meant are refused", "[unit][location]") {
  CHECK_THAT(refused("95, 0.5"), Catch::Contains("between -90 and 90"));
  CHECK_THAT(refused("51, 200"), Catch::Contains("between -180 and 180"));
  CHECK_THAT(refused("51 65 N 0 33 E"), Catch::Contains("minutes must be under 60"));
  CHECK_THAT(refused("51 42 75 N 0 33 E"), Catch::Contains("seconds must be under 60"));
  CHECK_THAT(refused("51.5 42 N 0 33 E"), Catch::Contains("only the last"));
  CHECK_THAT(refused("-51.7S 0.5E"), Catch::Contains("not both"));
  CHECK_THAT(refused("51.7N 52.1S"), Catch::Contains("two latitudes"));
  CHECK_THAT(refused("51.7N"), Catch::Contains("a latitude and a longitude"));
  CHECK_THAT(refused("51 42 0 33"), Catch::Contains("give two numbers"));
  CHECK_THAT(refused("51 65, 0 33"), Catch::Contains("minutes must be under 60"));
  CHECK_THAT(refused("51 42, 0 -33"), Catch::Contains("no sign"));
  CHECK_THAT(refused("51 42 30 10, 0 33"), Catch::Contains("optionally minutes and seconds"));
  CHECK_THAT(refused("5142 30, 0 33"), Catch::Contains("degrees and minutes (51 42.0, 0 33.0)"));
  CHECK_THAT(refused(", 51 42 0 33"), Catch::Contains("give two numbers"));
  CHECK_THAT(refused("1e5, 2e5"), Catch::Contains("a latitude and a longitude"));
}

TEST_CASE("hostile or empty text is refused before any work is done on it", "[unit][location]") {
  CHECK_THAT(refused(""), Catch::Contains("empty"));
  CHECK_THAT(refused("   "), Catch::Contains("empty"));
  CHECK_THAT(refused(std::string(65, '1')), Catch::Contains("at most 64"));
  CHECK_THAT(refused("TL 740 035; DROP"), Catch::Contains("has no place"));
  CHECK_THAT(refused("51.7\xff 0.5"), Catch::Contains("a location is a grid reference"));
  CHECK_THAT(refused("Chelmsford"), Catch::Contains("has no place"));
  CHECK_THAT(refused("nan, inf"), Catch::Contains("has no place"));
  CHECK_THAT(refused("51..7, 0.5"), Catch::Contains("not a number"));
}

TEST_CASE("the location fuzzer's corpus and kept crashers are read without crashing",
          "[unit][location][fuzz]") {
  bl::test::for_each_fuzz_input("fuzz_location_text",
                                [&](const std::filesystem::path&, const std::string& input) {
                                  auto r = parse_location_text(input);
                                  if (auto* e = std::get_if<error>(&r))
                                    CHECK_FALSE(e->message.empty());
                                });
}
