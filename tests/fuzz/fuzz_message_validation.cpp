// libFuzzer target: arbitrary bytes through the path every submitted message takes before the
// engine (docs/architecture.md "The path of one message"): the bounded JSON parse, schema
// validation as a submission (envelope, gateway-only refusal, body) and as the dry run reports
// it, validate_message_all, and parse_message into the typed message. Seeded with
// schemas/examples/valid/message/ (tests/fuzz/corpus/fuzz_message_validation/). Crashers are
// kept under tests/fuzz/regressions/fuzz_message_validation/ and replayed by
// tests/unit/schema_safety_test.cpp.

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/core/json_bounded.hpp"
#include "gateway/core/message.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json doc;
  // The HTTP edge's limits: 64 KiB bodies, 32 levels.
  bl::json_limits limits;
  limits.max_bytes = 64 * 1024;
  if (bl::parse_json_bounded(text, doc, limits, "the request body")) return 0;
  (void)bl::fuzz::schemas().validate_submission_all(doc);
  (void)bl::fuzz::schemas().validate_message_all(doc);
  if (!doc.is_object()) return 0;
  if (bl::fuzz::schemas().validate_submission(doc)) return 0;
  auto parsed = bl::parse_message(doc);
  if (auto* m = std::get_if<bl::message>(&parsed)) (void)m->doc.dump();
  return 0;
}
