// libFuzzer target: arbitrary bytes as one frame from an operator console on /api/v1/ws
// (gateway/net/console_frame: hello with an optional after, or ping). Every input must give a
// typed frame or an error with a stable id and a message; a hello's after is -1 exactly when the
// frame has none, and otherwise the number the console sent. The depth limit is also set low so
// that the fuzzer reaches it as well as the schema. Crashers are kept under
// tests/fuzz/regressions/fuzz_console_frame/ and replayed by tests/unit/console_frame_test.cpp.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/net/console_frame.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

namespace {

void check(const bl::console_frame& f, std::string_view text) {
  if (f.what == bl::console_frame::op::ping) {
    if (f.after != -1) std::abort();
    return;
  }
  // The frame parsed within the limits, so parsing it again here cannot recurse deeply.
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) std::abort();
  auto a = doc.find("after");
  if (a == doc.end()) {
    if (f.after != -1) std::abort();
  } else if (f.after < 0 || !a->is_number_integer() ||
             (a->is_number_unsigned()
                  ? a->get<std::uint64_t>() != static_cast<std::uint64_t>(f.after)
                  : a->get<std::int64_t>() != f.after)) {
    // -0 is a signed integer to nlohmann and 0 to everyone else.
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (int depth : {4, 32}) {
    // The console's defaults: 64 KiB messages (console.ws_max_message_bytes).
    auto r = bl::parse_console_frame(text, bl::fuzz::schemas(), bl::json_limits{64 * 1024, depth});
    if (auto* e = std::get_if<bl::error>(&r)) {
      if (e->message.empty() || e->id().empty()) std::abort();
      if (e->code != bl::errc::payload_too_large && e->code != bl::errc::json_too_deep &&
          e->code != bl::errc::malformed_json && e->code != bl::errc::schema_invalid)
        std::abort();
    } else {
      check(std::get<bl::console_frame>(r), text);
    }
  }
  return 0;
}
