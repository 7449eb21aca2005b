// libFuzzer target: arbitrary bytes as the location an operator types (gateway/core/location_text:
// GET /api/v1/geo?q=). It never crashes; what it accepts is on the National Grid or a real
// latitude and longitude, with finite numbers; what it refuses names "q" and says why. Crashers
// are kept under tests/fuzz/regressions/fuzz_location_text/ and replayed by
// tests/unit/location_text_test.cpp.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/core/location_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = bl::parse_location_text(text);
  if (auto* e = std::get_if<bl::error>(&r)) {
    if (e->pointer != "q" || e->message.empty()) std::abort();
    return 0;
  }
  if (size > bl::location_text_max_chars) std::abort();  // bounded before any work
  const auto& l = std::get<bl::typed_location>(r);
  if (l.kind == bl::typed_location::form::wgs84) {
    if (!std::isfinite(l.lat) || !std::isfinite(l.lon) || std::fabs(l.lat) > 90 ||
        std::fabs(l.lon) > 180)
      std::abort();
  } else {
    if (!(l.easting >= 0 && l.easting < 700000 && l.northing >= 0 && l.northing < 1300000))
      std::abort();
    if (!(l.precision_m >= 1 && l.precision_m <= 10000)) std::abort();
  }
  return 0;
}
