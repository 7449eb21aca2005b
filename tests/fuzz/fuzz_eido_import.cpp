// libFuzzer target: arbitrary bytes into the NENA EIDO importer (JSON, the EIDO schema, the
// Bluelink extension, PIDF-LO through the hardened XML reader, the message schemas); whatever
// imports is exported again. Crashers are kept under tests/fuzz/regressions/fuzz_eido_import/
// and replayed by tests/unit/eido_test.cpp.

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
  auto r = bl::adapters::eido_import(doc, bl::fuzz::schemas());
  if (auto* m = std::get_if<nlohmann::json>(&r)) (void)bl::adapters::eido_export(*m);
  return 0;
}
