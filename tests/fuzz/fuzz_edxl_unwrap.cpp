// libFuzzer target: arbitrary bytes into the EDXL-DE 2.0 envelope reader (JSON, the envelope
// schema, the message or CAP alert inside). Crashers are kept under
// tests/fuzz/regressions/fuzz_edxl_unwrap/ and replayed by the unit tests.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/cap/edxl_envelope.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  auto r = bl::adapters::edxl_unwrap(doc, bl::fuzz::schemas());
  if (auto* c = std::get_if<bl::adapters::edxl_content>(&r))
    (void)bl::adapters::edxl_wrap(c->message);
  return 0;
}
