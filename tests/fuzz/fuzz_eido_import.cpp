// libFuzzer target: arbitrary bytes into the NENA EIDO importer (JSON, NENA's EIDO 1.0 schema
// and Bluelink's bounds, the Bluelink extension, a partner's identities through the partners
// configuration, the caller and callback, the not-carried list, PIDF-LO through the hardened XML
// reader, the message schemas); whatever imports is exported again. Crashers are kept under
// tests/fuzz/regressions/fuzz_eido_import/ and replayed by tests/unit/eido_test.cpp.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/eido/eido.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  // The seeds' partner (tests/data/eido/partner-call-transfer.json) is configured, so that a
  // partner's EIDO gets past who it is from to everything after.
  static const bl::adapters::partner_context partners = [] {
    bl::adapters::partner_context p;
    p.eido_ids = {{"psap.harlow.example.uk", "herts-psap"},
                  {"ambulance.eoe.example.uk", "eeast-ambulance"}};
    return p;
  }();
  bl::adapters::eido_import_context ctx;
  ctx.partner = &partners;
  auto r = bl::adapters::eido_import(doc, bl::fuzz::schemas(), ctx);
  if (auto* m = std::get_if<nlohmann::json>(&r)) (void)bl::adapters::eido_export(*m);
  return 0;
}
