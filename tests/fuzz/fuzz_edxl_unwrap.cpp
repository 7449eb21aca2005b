// libFuzzer target: arbitrary bytes into the EDXL-DE 2.0 envelope reader (JSON, the envelope
// schema, the message or CAP alert inside) and the EDXL-DE 1.0 XML reader (every content object,
// the CAP alerts embedded in it, with a configured partner), and the health hub's flat 2.0 JSON.
// Crashers are kept under tests/fuzz/regressions/fuzz_edxl_unwrap/ and replayed by the unit tests.
// ./tools/fuzz also seeds it with the real partners' envelopes in ../shared/samples/edxl-de, read
// there.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/cap/edxl_envelope.hpp"
#include "adapters/cap/edxl_xml.hpp"
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
  static const bl::adapters::partner_context partner = [] {
    bl::adapters::partner_context p;
    p.senders = {{"webmaster@rfs.nsw.gov.au", "nsw-rfs"}};
    p.edxl_senders = {{"webmaster@rfs.nsw.gov.au", "nsw-rfs"},
                      {"fr.health.samuA", "samu-a"},
                      {"fr.health.samuB", "samu-b"}};
    p.default_to_of = {{"nsw-rfs", "essex-fire"}};
    return p;
  }();
  {
    auto x = bl::adapters::looks_like_xml(doc)
                 ? bl::adapters::edxl10_unwrap(doc, bl::fuzz::schemas(), partner)
                 : bl::adapters::hub_unwrap(doc, bl::fuzz::schemas(), partner);
    if (auto* d = std::get_if<bl::adapters::edxl_distribution>(&x))
      for (const auto& item : d->items)
        if (const auto* m = std::get_if<nlohmann::json>(&item.result))
          (void)bl::adapters::cap_export(*m);
  }
  return 0;
}
