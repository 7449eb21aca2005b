// libFuzzer target: arbitrary bytes into the hardened XML reader and the CAP 1.2 import. Any
// result is fine; a crash, a sanitizer report or a hang is a defect (kept under
// tests/fuzz/regressions/fuzz_cap_import/ and replayed by the unit tests).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/cap/cap_alert.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  auto r = bl::adapters::cap_import(doc, bl::fuzz::schemas());
  // What is imported must export again.
  if (auto* msg = std::get_if<nlohmann::json>(&r)) (void)bl::adapters::cap_export(*msg);
  return 0;
}
