// libFuzzer target: arbitrary bytes into the hardened XML reader and the CAP 1.2 / 1.1 import,
// both as a file (no partner context) and as a configured partner's alert (a mapped sender, a
// default recipient, a held earlier alert), then the M/ETHANE text of what was imported. Any
// result is fine; a crash, a sanitizer report or a hang is a defect (kept under
// tests/fuzz/regressions/fuzz_cap_import/ and replayed by the unit tests). ./tools/fuzz also
// seeds it with the real partners' alerts in ../shared/samples/cap, read there.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/text/methane_text.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

namespace {

const bl::adapters::partner_context& partner() {
  static const bl::adapters::partner_context p = [] {
    bl::adapters::partner_context c;
    c.senders = {{"cap@ec.gc.ca", "ec-weather"}, {"webmaster@rfs.nsw.gov.au", "nsw-rfs"}};
    c.default_to_of = {{"ec-weather", "essex-fire"}, {"nsw-rfs", "essex-fire"}};
    c.transfer_of = [](const std::string&,
                       const std::string& id) -> std::optional<bl::adapters::referenced_transfer> {
      if (id.size() % 2 == 0) return bl::adapters::referenced_transfer{"T-20261121-000001", 2};
      return std::nullopt;
    };
    return c;
  }();
  return p;
}

void check(const std::variant<nlohmann::json, bl::adapters::translate_error>& r) {
  // What is imported must export again and read out as text.
  if (const auto* msg = std::get_if<nlohmann::json>(&r)) {
    (void)bl::adapters::cap_export(*msg);
    (void)bl::adapters::methane_text(*msg);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  check(bl::adapters::cap_import(doc, bl::fuzz::schemas()));
  check(bl::adapters::cap_import(doc, bl::fuzz::schemas(), partner()));
  return 0;
}
