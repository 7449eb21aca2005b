// System test: claiming a phone prompt ("I'm calling them") over the real bluelink-gateway
// binary's HTTP API, as an integration drives it with bearer tokens.

#include <catch2/catch.hpp>

#include <string>

#include "tests/support/gateway_process.hpp"
#include "tests/support/http_client.hpp"

namespace {

using bl::test::eeast_ambulance;
using bl::test::essex_fire;
using bl::test::essex_police;
using bl::test::gateway_process;
using bl::test::http_client;
using bl::test::new_message_id;
using nlohmann::json;

}  // namespace

TEST_CASE("a phone prompt is claimed once, by a party, and the claim is in the timeline",
          "[system][claims]") {
  gateway_process gw;
  http_client c(gw.port());
  auto fire = gateway_process::token(essex_fire);
  auto sent = c.post("/api/v1/messages",
                     bl::test::a12_rtc_request(new_message_id(essex_fire, "claim")), fire);
  INFO(sent.body);
  REQUIRE(sent.status == 202);
  std::string tid = sent.json["receipt"]["transfer_id"];
  json claim = {{"transfer_id", tid}, {"prompt", "decision_overdue"}};

  auto first = c.post("/api/v1/phone-claims", claim, fire);
  INFO(first.body);
  REQUIRE(first.status == 201);
  CHECK(first.json["already_claimed"] == false);
  CHECK(first.json["claim"]["agency"] == essex_fire);
  CHECK(first.json["claim"]["calling"] == essex_police);
  CHECK(first.json["claim"]["by"] == essex_fire);  // a token has no user: the agency claimed it

  auto again = c.post("/api/v1/phone-claims", claim, fire);
  INFO(again.body);
  REQUIRE(again.status == 200);
  CHECK(again.json["already_claimed"] == true);
  CHECK(again.json["claim"]["claimed_at"] == first.json["claim"]["claimed_at"]);

  auto t = c.get("/api/v1/transfers/" + tid, fire);
  REQUIRE(t.status == 200);
  int claims = 0;
  for (const auto& e : t.json["transfer"]["timeline"])
    if (e["kind"] == "phone_claim") ++claims;
  CHECK(claims == 1);

  SECTION("an agency that is not a party is told there is no such transfer") {
    auto r = c.post("/api/v1/phone-claims", claim, gateway_process::token(eeast_ambulance));
    INFO(r.body);
    REQUIRE(r.status == 404);
    CHECK(r.json["error"]["code"] == "bl.transfer.not_found");
  }
  SECTION("a prompt the gateway does not raise, or an extra field, is refused with its pointer") {
    auto r = c.post("/api/v1/phone-claims", json{{"transfer_id", tid}, {"prompt", "tea"}}, fire);
    REQUIRE(r.status == 422);
    CHECK(r.json["error"]["code"] == "bl.schema.invalid");
    CHECK(r.json["error"]["pointer"] == "/prompt");
    json extra = claim;
    extra["agency"] = essex_police;  // the claim is always the caller's own agency's
    r = c.post("/api/v1/phone-claims", extra, fire);
    REQUIRE(r.status == 422);
    CHECK(r.json["error"]["code"] == "bl.schema.invalid");
  }
  SECTION("without credentials nothing is claimed") {
    auto r = c.post("/api/v1/phone-claims", claim, "");
    CHECK(r.status == 401);
  }
}
