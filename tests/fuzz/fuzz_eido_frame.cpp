// libFuzzer target: arbitrary bytes as one EIDO conveyance WebSocket frame
// (adapters/eido/eido_conveyance: subscribe, unsubscribe, eventResponse, requestForService,
// requestAwareness, cancelRequest, terminateResponse). Every input must give a typed message or a
// refusal with its response type and a message. Crashers are kept under
// tests/fuzz/regressions/fuzz_eido_frame/ and replayed by tests/unit/eido_conveyance_test.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/eido/eido_conveyance.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = bl::adapters::conveyance::parse_frame(text);
  if (auto* e = std::get_if<bl::adapters::conveyance::frame_error>(&r))
    if (e->reply.empty() || e->err.message.empty()) std::abort();
  return 0;
}
