// libFuzzer target: arbitrary bytes into the UCRI2 send-request parser and the mapping to a
// canonical message (adapters/ucri2), into the HTTP Basic and bearer-token (JWT) parsers of the
// Authorization header, and, read as a delivered canonical message, into the mapping back to a
// UCRI2 message. Crashers are kept under
// tests/fuzz/regressions/fuzz_ucri2_message/ and replayed by the unit tests.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/cap/cap_alert.hpp"
#include "adapters/ucri2/ucri2_message.hpp"
#include "tests/fuzz/fuzz_schemas.hpp"

namespace {
namespace u2 = bl::adapters::ucri2;

const u2::directory& dir() {
  static const u2::directory d{
      "1.2.276.0.99",
      {{"1.2.276.0.99.1", "essex-fire", "Essex Fire", "fire", true, {}},
       {"1.2.276.0.99.2", "essex-police", "Essex Police", "police", false, {}}}};
  return d;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  (void)argc;
  (void)bl::fuzz::schemas((*argv)[0]);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view doc(reinterpret_cast<const char*>(data), size);
  auto r = u2::parse_send_request(doc, bl::fuzz::schemas());
  if (auto* req = std::get_if<u2::send_request>(&r)) {
    if (req->message_id.empty()) req->message_id = "00000000-0000-4000-8000-000000000000";
    u2::inbound_context ctx;
    ctx.from = dir().by_agency("essex-fire");
    ctx.to = dir().by_agency("essex-police");
    ctx.find = [](const std::string& shared) -> std::optional<u2::transfer_facts> {
      if (auto id = u2::transfer_id_from_shared(shared))
        return u2::transfer_facts{*id, "essex-police", "essex-fire", "P-1"};
      return std::nullopt;
    };
    auto m = u2::to_canonical(*req, ctx);
    if (auto* msg = std::get_if<nlohmann::json>(&m);
        msg && !bl::adapters::check_message(*msg, bl::fuzz::schemas())) {
      (*msg)["transfer_id"] = "T-20261121-000001";
      u2::outbound_context out;
      out.dir = &dir();
      out.recipient = "essex-police";
      (void)u2::from_canonical(*msg, out);
    }
  }
  // A relayed message puts the kept send back over the item (same standard in and out): the
  // kept send is read again from the store, so it is read as hostile too.
  (void)u2::relay_as_sent(nlohmann::json{{"messageId", "m"}, {"payload", nlohmann::json::object()}},
                          doc);
  // The Authorization headers a client sends: HTTP Basic to GET /token, then the bearer JWT.
  (void)u2::basic_credentials(doc);
  (void)u2::check_jwt("fuzz-signing-key", doc, 0);
  auto j = nlohmann::json::parse(doc, nullptr, false);
  // The way back reads what the store holds: valid canonical messages only.
  if (j.is_object() && !bl::adapters::check_message(j, bl::fuzz::schemas())) {
    u2::outbound_context out;
    out.dir = &dir();
    out.recipient = "essex-fire";
    (void)u2::from_canonical(j, out);
  }
  return 0;
}
